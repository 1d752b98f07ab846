import { setTimeout as delay } from 'node:timers/promises';
import bcrypt from 'bcrypt';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import type { SignInThrottle } from '../limits/sign-in-throttle.js';
import type { StaffAccount, StaffStore } from '../staff/staff.js';
import { canonicalEmail } from '../teams/email.js';

export type StaffSignInOutcome =
  | { readonly outcome: 'signed_in'; readonly account: StaffAccount }
  | { readonly outcome: 'throttled'; readonly retryAfter: number }
  | { readonly outcome: 'busy' }
  /** Wrong email or password, or a disabled account: one answer for all. */
  | { readonly outcome: 'wrong' };

const DUMMY_HASH = '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.aT1hX2T4v2dWm6eY3B6L6aVt9zGa';

/**
 * A staff password check under keyport's own sign-in throttles (the same
 * window counters as the dashboard's, password-sign-in.ts), the account
 * counted as `staff:ID`. The second factor is checked by the same throttle
 * (`checkSecondFactor`), so a code cannot be guessed faster than a password.
 */
export function createStaffSignIn({
  store,
  signIns,
  bcryptGate,
}: {
  store: Pick<StaffStore, 'findByEmail'>;
  signIns: SignInThrottle;
  bcryptGate: BcryptGate;
}) {
  return {
    async signIn(input: { email: string; password: string; address: string }): Promise<StaffSignInOutcome> {
      const email = canonicalEmail(input.email).slice(0, 254);
      const account = email ? await store.findByEmail(email) : undefined;
      const key = account ? `staff:${account.id}` : `staff-email:${email}`;
      const reserved = await signIns.reserve(input.address, key);
      if ('retryAfter' in reserved) return { outcome: 'throttled', retryAfter: reserved.retryAfter };
      if (reserved.delayMs > 0) await delay(reserved.delayMs);
      const hash = account?.passwordHash ?? DUMMY_HASH;
      const checked = await bcryptGate.run(
        input.address,
        async () => Buffer.byteLength(input.password) <= 72 && (await bcrypt.compare(input.password, hash)),
      );
      if (checked === undefined) {
        await signIns.unchecked(input.address, key);
        return { outcome: 'busy' };
      }
      if (!checked || !account || account.disabledAt !== null) {
        await signIns.failed(input.address, key);
        return { outcome: 'wrong' };
      }
      await signIns.succeeded(input.address, key);
      return { outcome: 'signed_in', account };
    },

    /** Counts a second-factor attempt like a password attempt: refused while throttled. */
    async checkSecondFactor(
      account: StaffAccount,
      address: string,
      check: () => Promise<boolean>,
    ): Promise<'ok' | 'wrong' | { retryAfter: number }> {
      const key = `staff-2fa:${account.id}`;
      const reserved = await signIns.reserve(address, key);
      if ('retryAfter' in reserved) return { retryAfter: reserved.retryAfter };
      if (reserved.delayMs > 0) await delay(reserved.delayMs);
      if (!(await check())) {
        await signIns.failed(address, key);
        return 'wrong';
      }
      await signIns.succeeded(address, key);
      return 'ok';
    },
  };
}
export type StaffSignIn = ReturnType<typeof createStaffSignIn>;
