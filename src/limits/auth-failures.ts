import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { windowLimit, type WindowCounterStore } from './counter-store.js';
import { sourceOf } from './source-address.js';

/**
 * Failed client authentications, counted per (client_id, source address)
 * and per source address apart from the plan budget: past the threshold the
 * next attempt from that source answers 429 before any bcrypt work, until the
 * window passes. Never per client_id alone: a client_id is no secret (an
 * app's is in every authorization URL), and a count anyone could fill would
 * let anyone lock its owner out.
 *
 * The counters are in the window-counter store (the database, or Redis),
 * shared by every process. Reading them on
 * every request would cost two queries each, so a process remembers a clean
 * answer (under the threshold) for up to a second, and forgets it at once
 * when it records a failure for that key. `exact` reads always: every check
 * that is about to run bcrypt asks for it, so a guess is never let through
 * on a remembered answer; only a secret already verified may be.
 * A throttled source address is remembered too, for up to a second, so a
 * flood from it is refused without a query each (never longer than its window).
 */
export interface AuthFailures {
  /** Seconds to wait when this client_id at this address, or the address, is throttled; 0 when it may try. */
  retryAfter(key: FailureKey, options?: { exact?: boolean }): Promise<number>;
  failed(key: FailureKey): Promise<void>;
  /**
   * Counts an attempt as failed before it is checked (sign-in): concurrent
   * attempts cannot all read "under the threshold" and all run bcrypt.
   * Seconds to wait when the threshold is passed; `refund` takes it back
   * when the attempt succeeds.
   */
  reserve(key: FailureKey): Promise<number>;
  refund(key: FailureKey): Promise<void>;
  /** Drops every remembered answer (after counters were cleared by hand, the next check reads them). */
  forget(): void;
}

/** A client_id counts only together with the address it was tried from. */
export interface FailureKey {
  readonly clientId?: string;
  readonly address: string;
}

const CLEAN_FOR_MS = 1000;
const MAX_REMEMBERED = 10_000;

export function createAuthFailures(
  counters: WindowCounterStore,
  config: Config,
  clock: Clock = systemClock,
): AuthFailures {
  const { per_client, per_address, window_seconds } = config.authFailures;
  const byClient = windowLimit(counters, { prefix: 'authfail_client', max: per_client, windowSeconds: window_seconds });
  const byAddress = windowLimit(counters, { prefix: 'authfail_addr', max: per_address, windowSeconds: window_seconds });

  // An address counts as its source: an IPv6 one by its network (source-address.ts).
  const pairs = ({ clientId, address: given }: FailureKey) => {
    const address = sourceOf(given, config.ipv6ThrottlePrefix);
    return [
      clientId ? ([byClient, `${address} ${clientId}`, per_client, `c:${address} ${clientId}`] as const) : undefined,
      [byAddress, address, per_address, `a:${address}`] as const,
    ].filter((p) => p !== undefined);
  };
  // key → when it was last read clean; Map order is insertion order, oldest first.
  const clean = new Map<string, number>();
  // address key → until when it is known to be throttled without asking, and when its window ends.
  const throttled = new Map<string, { recheckAt: number; endsAt: number }>();

  return {
    async retryAfter(key, { exact = false } = {}) {
      let wait = 0;
      const now = clock.now();
      for (const [limiter, id, max, remembered] of pairs(key)) {
        const known = throttled.get(remembered);
        if (known !== undefined && known.recheckAt > now) {
          wait = Math.max(wait, Math.ceil((known.endsAt - now) / 1000));
          continue;
        }
        const readAt = clean.get(remembered);
        if (!exact && readAt !== undefined && now - readAt < CLEAN_FOR_MS) continue;
        const res = await limiter.get(id);
        if (res && res.points >= max) {
          clean.delete(remembered);
          wait = Math.max(wait, Math.ceil(res.msLeft / 1000));
          if (remembered.startsWith('a:')) {
            throttled.set(remembered, {
              recheckAt: now + Math.min(CLEAN_FOR_MS, res.msLeft),
              endsAt: now + res.msLeft,
            });
            if (throttled.size > MAX_REMEMBERED) throttled.delete(throttled.keys().next().value!);
          }
        } else {
          clean.delete(remembered);
          clean.set(remembered, now);
          if (clean.size > MAX_REMEMBERED) clean.delete(clean.keys().next().value!);
        }
      }
      return wait;
    },

    forget() {
      clean.clear();
      throttled.clear();
    },

    async reserve(key) {
      let wait = 0;
      for (const [limiter, id, max, remembered] of pairs(key)) {
        clean.delete(remembered);
        const res = await limiter.hit(id);
        // This attempt is the one over the threshold, or a later one.
        if (res.points > max) wait = Math.max(wait, Math.ceil(res.msLeft / 1000));
      }
      return wait;
    },

    async refund(key) {
      await Promise.all(pairs(key).map(([limiter, id]) => limiter.refund(id)));
    },

    async failed(key) {
      for (const [, , , remembered] of pairs(key)) clean.delete(remembered);
      await Promise.all(pairs(key).map(([limiter, id]) => limiter.hit(id)));
    },
  };
}
