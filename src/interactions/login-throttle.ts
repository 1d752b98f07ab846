/**
 * Slows down repeated wrong passwords for one email: after FREE_FAILURES,
 * each further failure doubles the wait (capped), and a success clears it.
 * Kept per process; the shared, database-backed limiter comes with the rate
 * limits (issue 7).
 */
const FREE_FAILURES = 5;
const MAX_WAIT_SECONDS = 300;
const FORGET_AFTER_MS = 3_600_000;

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export interface LoginThrottle {
  /** Seconds to wait before this email may try again; 0 when it may try now. */
  waitSeconds(email: string, now?: number): number;
  failed(email: string, now?: number): void;
  succeeded(email: string): void;
}

export function createLoginThrottle(): LoginThrottle {
  const entries = new Map<string, Entry>();

  const entry = (email: string, now: number) => {
    const found = entries.get(email);
    if (found && now - found.lastFailure < FORGET_AFTER_MS) return found;
    entries.delete(email);
    return undefined;
  };

  return {
    waitSeconds(email, now = Date.now()) {
      const e = entry(email, now);
      return e && e.blockedUntil > now ? Math.ceil((e.blockedUntil - now) / 1000) : 0;
    },

    failed(email, now = Date.now()) {
      const e = entry(email, now) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
      e.failures += 1;
      e.lastFailure = now;
      if (e.failures >= FREE_FAILURES) {
        e.blockedUntil = now + Math.min(2 ** (e.failures - FREE_FAILURES), MAX_WAIT_SECONDS) * 1000;
      }
      entries.set(email, e);
      // Bound memory under a flood of distinct emails.
      if (entries.size > 100_000) entries.delete(entries.keys().next().value!);
    },

    succeeded(email) {
      entries.delete(email);
    },
  };
}
