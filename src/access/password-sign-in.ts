import { setTimeout as delay } from 'node:timers/promises';
import bcrypt from 'bcrypt';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import type { SignInThrottle } from '../limits/sign-in-throttle.js';
import { canonicalEmail } from '../teams/email.js';
import type { TeamStore } from '../teams/store.js';
import type { User } from '../teams/team.js';

/** How a password sign-in ended; each surface words it on its own page. */
export type SignInOutcome<T> = { readonly email: string } & (
  | { readonly outcome: 'signed_in'; readonly user: User; readonly admitted: T }
  /** Too many attempts from this address, or for this account from this address (sign-in-throttle.ts). */
  | { readonly outcome: 'throttled'; readonly retryAfter: number }
  /** The bcrypt gate is full: try again in a second (503). Not a failure: nothing is counted. */
  | { readonly outcome: 'busy' }
  /** A wrong email or password, or a person the surface does not admit: one answer for all. */
  | { readonly outcome: 'wrong' }
);

export interface PasswordSignIn {
  /**
   * Checks a person's email and password. `admit` says whether the surface lets
   * this person in (a membership of the app's team, any membership for the
   * dashboard); only an admitted person's attempt counts as a success.
   */
  signIn<T>(input: {
    email: string;
    password: string;
    address: string;
    admit: (user: User) => Promise<T | undefined>;
  }): Promise<SignInOutcome<T>>;
}

// Compared against when the email is unknown, so both paths cost one bcrypt check.
const DUMMY_HASH = '$2b$10$CwTycUXWue0Thq9StjUM0uJ8.aT1hX2T4v2dWm6eY3B6L6aVt9zGa';

/** The one password check for the app sign-in page and the dashboard. */
export function createPasswordSignIn({
  teams,
  signIns,
  bcryptGate,
}: {
  teams: Pick<TeamStore, 'findUserByEmail'>;
  signIns: SignInThrottle;
  /** Shared with client secrets: a flood of sign-ins cannot starve token requests. */
  bcryptGate: BcryptGate;
}): PasswordSignIn {
  return {
    async signIn({ email: typed, password, address, admit }) {
      const email = canonicalEmail(typed).slice(0, 254);
      const user = email ? await teams.findUserByEmail(email) : undefined;
      // The attempt is counted before it is checked, per address and per (account, address) (sign-in-throttle.ts).
      const account = user ? `user:${user.id}` : `email:${email}`;
      const reserved = await signIns.reserve(address, account);
      if ('retryAfter' in reserved) return { email, outcome: 'throttled', retryAfter: reserved.retryAfter };
      // An account with recent wrong passwords is slowed down, never locked.
      if (reserved.delayMs > 0) await delay(reserved.delayMs);
      const hash = user?.kind === 'person' && user.passwordHash ? user.passwordHash : DUMMY_HASH;
      // bcrypt reads at most 72 bytes: a longer password is wrong rather than truncated.
      const checked = await bcryptGate.run(
        address,
        async () => Buffer.byteLength(password) <= 72 && (await bcrypt.compare(password, hash)),
      );
      if (checked === undefined) {
        await signIns.unchecked(address, account);
        return { email, outcome: 'busy' };
      }
      const admitted = checked && hash !== DUMMY_HASH && user ? await admit(user) : undefined;
      if (admitted === undefined || !user) {
        await signIns.failed(address, account);
        return { email, outcome: 'wrong' };
      }
      await signIns.succeeded(address, account);
      return { email, outcome: 'signed_in', user, admitted };
    },
  };
}
