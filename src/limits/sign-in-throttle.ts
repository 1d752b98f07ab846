import { createHash } from 'node:crypto';
import type { AuthFailures } from './auth-failures.js';
import { windowLimit, type WindowCounterStore } from './counter-store.js';

/** Wrong passwords allowed per account within the window, across every process. */
export const SIGN_IN_FAILURES_PER_ACCOUNT = 5;
export const SIGN_IN_WINDOW_SECONDS = 900;

/**
 * Throttles for people signing in (the app sign-in page, the dashboard).
 * Each attempt is reserved before its bcrypt check, in the window-counter store:
 * - per source address, in the same count as failed client authentications;
 * - per account: the person the email names, or (for an email that names
 *   nobody) the email itself, so both cost the same and reveal nothing.
 * A success gives the address its attempt back and clears the account's count.
 */
export interface SignInThrottle {
  /** Seconds to wait when refused; 0 when the attempt may be checked. */
  reserve(address: string, account: string): Promise<number>;
  succeeded(address: string, account: string): Promise<void>;
}

export function createSignInThrottle(counters: WindowCounterStore, failures: AuthFailures): SignInThrottle {
  const perAccount = windowLimit(counters, {
    prefix: 'signin_account',
    max: SIGN_IN_FAILURES_PER_ACCOUNT,
    windowSeconds: SIGN_IN_WINDOW_SECONDS,
  });
  const key = (account: string) => createHash('sha256').update(account).digest('base64url');

  return {
    async reserve(address, account) {
      const wait = await failures.reserve({ address });
      if (wait > 0) return wait;
      const res = await perAccount.hit(key(account));
      return res.points > perAccount.max ? Math.ceil(res.msLeft / 1000) : 0;
    },

    async succeeded(address, account) {
      await Promise.all([failures.refund({ address }), perAccount.clear(key(account))]);
    },
  };
}
