import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import { createDbLimiter } from './store.js';

/**
 * Failed client authentications, counted per client_id and per source
 * address apart from the plan budget: past the threshold the next attempt
 * answers 429 before any bcrypt work, until the window passes.
 */
export interface AuthFailures {
  /** Seconds to wait when this client_id or address is throttled; 0 when it may try. */
  retryAfter(key: { clientId?: string; address?: string }): Promise<number>;
  failed(key: { clientId?: string; address?: string }): Promise<void>;
}

export function createAuthFailures(db: Db, config: Config): AuthFailures {
  const { per_client, per_address, window_seconds } = config.authFailures;
  const byClient = createDbLimiter(db, { keyPrefix: 'authfail_client', points: per_client, duration: window_seconds });
  const byAddress = createDbLimiter(db, { keyPrefix: 'authfail_addr', points: per_address, duration: window_seconds });

  const pairs = ({ clientId, address }: { clientId?: string; address?: string }) =>
    [
      clientId ? ([byClient, clientId, per_client] as const) : undefined,
      address ? ([byAddress, address, per_address] as const) : undefined,
    ].filter((p) => p !== undefined);

  return {
    async retryAfter(key) {
      let wait = 0;
      for (const [limiter, id, max] of pairs(key)) {
        const res = await limiter.get(id);
        if (res && res.consumedPoints >= max) wait = Math.max(wait, Math.ceil(res.msBeforeNext / 1000));
      }
      return wait;
    },

    async failed(key) {
      await Promise.all(
        pairs(key).map(([limiter, id]) =>
          limiter.consume(id, 1).catch((rejection: unknown) => {
            // Over the threshold already: consume rejects with the counter state; that is fine.
            if (rejection instanceof Error) throw rejection;
          }),
        ),
      );
    },
  };
}
