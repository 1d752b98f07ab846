import type { Tx } from '../unit-of-work.js';
import type { Environment } from './client.js';

const DAY = 86_400;

/** Days before `expires_at` when the team's admins are reminded (GitLab's 30/7/1, gitlab #367706). */
export const EXPIRY_THRESHOLDS_DAYS = [30, 7, 1] as const;
/** A rotation's previous secret: one reminder, the day before it stops working. */
export const GRACE_THRESHOLD_DAYS = 1;

export type ReminderKind = 'expires' | 'grace_ends';

/** A key that stops working within the reminder horizon (or whose previous secret does). */
export interface ExpiringKey {
  readonly clientId: string;
  readonly teamId: number;
  readonly name: string | null;
  readonly environment: Environment;
  readonly expiresAt: number | null;
  readonly previousSecretExpiresAt: number | null;
}

/** One reminder: unique on (clientId, kind, thresholdDays, expiresAt). */
export interface Reminder {
  readonly clientId: string;
  readonly kind: ReminderKind;
  readonly thresholdDays: number;
  readonly expiresAt: number;
}

export interface StoredReminder extends Reminder {
  readonly id: number;
}

export interface ReminderStore {
  /** Valid team keys whose expiry is within `horizon` seconds of `now`, or whose grace ends within a day. */
  expiringKeys(now: number, horizon: number): Promise<ExpiringKey[]>;
  /** Inserts the reminder unless it exists (every process may try; one row results). */
  ensure(reminder: Reminder, now: number): Promise<void>;
  /** Reminders not yet announced as `key.expiring`. */
  unannounced(): Promise<StoredReminder[]>;
  /** Marks it announced in `tx`; false when another process did first. */
  markAnnounced(id: number, now: number, tx: Tx): Promise<boolean>;
  /** Reminders whose mail is not sent yet and whose key has not stopped working at `now`. */
  unsent(now: number): Promise<StoredReminder[]>;
  /** Takes the lease to send it until `until`; false when sent or leased by another process. */
  claim(id: number, now: number, until: number): Promise<boolean>;
  markSent(id: number, now: number): Promise<void>;
  /** Gives the lease back after a failed send, so the next run retries at once. */
  release(id: number): Promise<void>;
}

/**
 * The reminders due for a key at `now`: of the thresholds already passed,
 * only the nearest, so a key made to expire in 7 days gets the 7-day
 * reminder and never a late 30-day one.
 */
export function dueReminders(key: ExpiringKey, now: number): Reminder[] {
  const due: Reminder[] = [];
  if (key.expiresAt !== null && key.expiresAt > now) {
    const left = key.expiresAt - now;
    const nearest = [...EXPIRY_THRESHOLDS_DAYS].sort((a, b) => a - b).find((days) => left <= days * DAY);
    if (nearest !== undefined) {
      due.push({ clientId: key.clientId, kind: 'expires', thresholdDays: nearest, expiresAt: key.expiresAt });
    }
  }
  const grace = key.previousSecretExpiresAt;
  if (grace !== null && grace > now && grace - now <= GRACE_THRESHOLD_DAYS * DAY) {
    due.push({ clientId: key.clientId, kind: 'grace_ends', thresholdDays: GRACE_THRESHOLD_DAYS, expiresAt: grace });
  }
  return due;
}

/** How far ahead a reminder may be due: the largest threshold. */
export const REMINDER_HORIZON_SECONDS = Math.max(...EXPIRY_THRESHOLDS_DAYS) * DAY;

/** "in 7 days", "in 1 day", "within a day": what is left, rounded up to whole days. */
export function timeLeft(expiresAt: number, now: number): string {
  const days = Math.ceil((expiresAt - now) / DAY);
  return days <= 1 ? 'within a day' : `in ${days} days`;
}
