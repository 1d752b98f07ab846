import { createHash } from 'node:crypto';
import type { AuthFailures } from './auth-failures.js';
import { windowLimit, type WindowCounterStore } from './counter-store.js';
import { sourceOf } from './source-address.js';

/** Wrong passwords allowed for one account from one source address within the window, across every process. */
export const SIGN_IN_FAILURES_PER_SOURCE = 5;
export const SIGN_IN_WINDOW_SECONDS = 900;
/** Wrong passwords for one account, from anywhere, before its attempts are slowed down. */
export const SIGN_IN_SLOW_DOWN_AFTER = 5;
const SLOW_DOWN_STEP_MS = 200;
export const SIGN_IN_SLOW_DOWN_MAX_MS = 2000;

/**
 * Throttles for people signing in (the app sign-in page, the dashboard).
 * The source is throttled, never the account: an email is no secret, and a
 * count anyone could fill would let anyone lock its owner out. Each attempt
 * is reserved before its bcrypt check, in the window-counter store:
 * - per source address, in the same count as failed client authentications;
 * - per (account, source address): the account is the person the email
 *   names, or (for an email that names nobody) the email itself, so both
 *   cost the same and reveal nothing.
 * Per account alone, recent wrong passwords only slow its attempts down
 * (SLOW_DOWN_STEP_MS more per failure past SIGN_IN_SLOW_DOWN_AFTER, at most
 * SIGN_IN_SLOW_DOWN_MAX_MS): the right password from a clean address is
 * never refused.
 */
export interface SignInThrottle {
  /** Refused (`retryAfter` seconds), or the attempt may be checked after `delayMs`. */
  reserve(address: string, account: string): Promise<{ retryAfter: number } | { delayMs: number }>;
  /** The attempt was never checked (the bcrypt gate was full): its reservation is given back, nothing counts. */
  unchecked(address: string, account: string): Promise<void>;
  /** A wrong password: it stays counted for its source, and slows the account down. */
  failed(address: string, account: string): Promise<void>;
  /** A success gives the address its attempt back and clears the source's and the account's counts. */
  succeeded(address: string, account: string): Promise<void>;
}

export function createSignInThrottle(
  counters: WindowCounterStore,
  failures: AuthFailures,
  ipv6Prefix: number,
): SignInThrottle {
  const window = { max: SIGN_IN_FAILURES_PER_SOURCE, windowSeconds: SIGN_IN_WINDOW_SECONDS };
  const perSource = windowLimit(counters, { prefix: 'signin_source', ...window });
  const perAccount = windowLimit(counters, { prefix: 'signin_account', ...window });
  const hash = (value: string) => createHash('sha256').update(value).digest('base64url');
  const source = (address: string, account: string) => hash(`${account} ${sourceOf(address, ipv6Prefix)}`);

  return {
    async reserve(address, account) {
      const wait = await failures.reserve({ address });
      if (wait > 0) return { retryAfter: wait };
      const res = await perSource.hit(source(address, account));
      if (res.points > perSource.max) return { retryAfter: Math.ceil(res.msLeft / 1000) };
      const recent = (await perAccount.get(hash(account)))?.points ?? 0;
      const over = recent - SIGN_IN_SLOW_DOWN_AFTER;
      return { delayMs: over > 0 ? Math.min(SIGN_IN_SLOW_DOWN_MAX_MS, over * SLOW_DOWN_STEP_MS) : 0 };
    },

    async unchecked(address, account) {
      await Promise.all([failures.refund({ address }), perSource.refund(source(address, account))]);
    },

    async failed(_address, account) {
      await perAccount.hit(hash(account));
    },

    async succeeded(address, account) {
      await Promise.all([
        failures.refund({ address }),
        perSource.clear(source(address, account)),
        perAccount.clear(hash(account)),
      ]);
    },
  };
}
