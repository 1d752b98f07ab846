import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import { createDbLimiter } from './store.js';

/** What a rate-limited answer carries (CONTRACT.md, Rate limits). */
export interface LimitVerdict {
  readonly allowed: boolean;
  readonly headers: Readonly<Record<'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset', string>>;
  /** Whole seconds until the exceeded window has room again. */
  readonly retryAfter: number;
}

export interface PlanLimits {
  /**
   * Counts one request of an authenticated client against each window and
   * reports on the tightest. `limits` are the client's (plan, environment).
   */
  consume(clientId: string, limits: readonly [number, number, number]): Promise<LimitVerdict>;
  /** The limits of a client: its plan's, a tenth for dev keys; resource servers have their own. */
  limitsFor(client: { plan?: string; environment: string; kind: string }): readonly [number, number, number];
}

// The counters never refuse on their own: keyport compares the count with the client's limit.
const UNBOUNDED = 2 ** 31 - 1;

export function createPlanLimits(db: Db, config: Config): PlanLimits {
  const windows: Array<{ seconds: number; limiter: RateLimiterAbstract }> = config.rateLimitWindowsSeconds.map((seconds, i) => ({
    seconds,
    limiter: createDbLimiter(db, { keyPrefix: `plan${i}`, points: UNBOUNDED, duration: seconds }),
  }));

  return {
    async consume(clientId, limits) {
      const results: RateLimiterRes[] = await Promise.all(windows.map(({ limiter }) => limiter.consume(clientId, 1)));
      const now = Date.now();
      const states = results.map((res, i) => ({ limit: limits[i]!, used: res.consumedPoints, resetMs: res.msBeforeNext }));
      const exceeded = states.filter((s) => s.used > s.limit);
      // The tightest window: the one with the fewest requests left.
      const tightest = states.reduce((a, b) => (b.limit - b.used < a.limit - a.used ? b : a));
      const shown = exceeded.length ? exceeded.reduce((a, b) => (b.resetMs > a.resetMs ? b : a)) : tightest;
      return {
        allowed: exceeded.length === 0,
        headers: {
          'X-RateLimit-Limit': String(shown.limit),
          'X-RateLimit-Remaining': String(Math.max(0, shown.limit - shown.used)),
          'X-RateLimit-Reset': String(Math.ceil((now + shown.resetMs) / 1000)),
        },
        retryAfter: Math.max(1, Math.ceil(shown.resetMs / 1000)),
      };
    },

    limitsFor({ plan, environment, kind }) {
      if (kind === 'resource_server') return config.resourceServerRateLimits;
      const base = (plan !== undefined ? config.plans[plan]?.rate_limits : undefined) ?? [1, 1, 1];
      return environment === 'dev' ? (base.map((n) => Math.max(1, Math.floor(n / 10))) as unknown as [number, number, number]) : base;
    },
  };
}
