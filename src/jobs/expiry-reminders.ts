import type { Clock } from '../clock.js';
import { secondsOf } from '../clock.js';
import type { Config } from '../config.js';
import {
  dueReminders,
  REMINDER_HORIZON_SECONDS,
  timeLeft,
  type ExpiringKey,
  type ReminderStore,
  type StoredReminder,
} from '../clients/expiry-reminders.js';
import type { ClientStore } from '../clients/store.js';
import type { KeyExpiringSubscriber } from '../events/key-expiring.js';
import type { Logger } from '../observability/logger.js';
import type { TeamStore } from '../teams/store.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { Mail, Mailer } from './mailer.js';
import { adminEmails } from './team-admins.js';

export interface ReminderDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: ReminderStore;
  readonly clients: ClientStore;
  readonly teams: TeamStore;
  readonly unitOfWork: UnitOfWork;
  /** None: reminders are still recorded and announced, no mail is sent. */
  readonly mailer: Mailer | undefined;
  /** Where `key.expiring` goes (the webhook outbox subscribes here). */
  readonly onKeyExpiring: readonly KeyExpiringSubscriber[];
}

export interface ReminderRun {
  readonly announced: number;
  readonly sent: number;
  readonly failed: number;
}

/** How long a process holds a reminder while it sends it; past it (a crash) another may. */
const LEASE_SECONDS = 120;

/**
 * One pass: record the reminders now due (one row each, whoever inserts it),
 * announce each new one as `key.expiring` exactly once, then mail the admins
 * of each reminder not mailed yet. A failed mail keeps its row unsent and is
 * retried by the next pass; a mail is sent by the one process holding the lease.
 */
export async function runExpiryReminders(deps: ReminderDeps): Promise<ReminderRun> {
  const { store, clock } = deps;
  const now = secondsOf(clock);
  const keys = await store.expiringKeys(now, REMINDER_HORIZON_SECONDS);
  for (const key of keys) for (const reminder of dueReminders(key, now)) await store.ensure(reminder, now);

  let announced = 0;
  for (const reminder of await store.unannounced()) {
    const key = await currentKey(deps, keys, reminder);
    if (!key) continue;
    try {
      if (await announce(deps, key, reminder, now)) announced++;
    } catch (err) {
      // Rolled back with its mark: the next pass announces it again.
      deps.logger.error(
        { err: { message: (err as Error).message }, client_id: key.clientId },
        'announcing key.expiring failed; retrying with the next run',
      );
    }
  }

  let sent = 0;
  let failed = 0;
  if (!deps.mailer) return { announced, sent, failed };
  for (const reminder of await store.unsent(now)) {
    const key = await currentKey(deps, keys, reminder);
    if (!key) continue;
    if (!(await store.claim(reminder.id, now, now + LEASE_SECONDS))) continue;
    try {
      const to = await adminEmails(deps.teams, key.teamId);
      if (to.length) await deps.mailer.send(reminderMail(deps.config, key, reminder, now, to));
      await store.markSent(reminder.id, secondsOf(clock));
      sent++;
    } catch (err) {
      failed++;
      await store.release(reminder.id);
      deps.logger.warn(
        { err: { message: (err as Error).message }, client_id: key.clientId },
        'sending an expiry reminder failed; retrying with the next run',
      );
    }
  }
  return { announced, sent, failed };
}

/** Marks the reminder announced and publishes `key.expiring` in one transaction; false when another process did. */
async function announce(deps: ReminderDeps, key: ExpiringKey, reminder: StoredReminder, now: number) {
  return deps.unitOfWork.run(async (tx) => {
    if (!(await deps.store.markAnnounced(reminder.id, now, tx))) return false;
    const event = {
      type: 'key.expiring',
      clientId: key.clientId,
      teamId: key.teamId,
      reason: reminder.kind,
      thresholdDays: reminder.thresholdDays,
      expiresAt: reminder.expiresAt,
    } as const;
    for (const subscriber of deps.onKeyExpiring) await subscriber(event, tx);
    return true;
  });
}

/**
 * The reminder's key as it is now; none when it was revoked or its expiry
 * changed since (a key given a new expiry gets the reminders of that one).
 */
async function currentKey(
  deps: ReminderDeps,
  keys: readonly ExpiringKey[],
  reminder: StoredReminder,
): Promise<ExpiringKey | undefined> {
  const key = keys.find((k) => k.clientId === reminder.clientId) ?? (await keyOf(deps, reminder));
  if (!key) return undefined;
  const stopsAt = reminder.kind === 'expires' ? key.expiresAt : key.previousSecretExpiresAt;
  return stopsAt === reminder.expiresAt ? key : undefined;
}

/** The key of a reminder recorded by an earlier pass (it may have been revoked since: then none). */
async function keyOf(deps: ReminderDeps, reminder: StoredReminder): Promise<ExpiringKey | undefined> {
  const client = await deps.clients.findById(reminder.clientId);
  if (!client || client.revokedAt !== null || client.teamId === null) return undefined;
  return {
    clientId: client.clientId,
    teamId: client.teamId,
    name: client.name,
    environment: client.environment,
    expiresAt: client.expiresAt,
    previousSecretExpiresAt: client.previousSecretExpiresAt,
  };
}

/** Names the key and links its page; never a secret, not even its hint. */
export function reminderMail(
  config: Config,
  key: ExpiringKey,
  reminder: StoredReminder,
  now: number,
  to: readonly string[],
): Mail {
  const name = key.name ?? key.clientId;
  const when = new Date(reminder.expiresAt * 1000).toISOString().replace('.000Z', 'Z');
  const left = timeLeft(reminder.expiresAt, now);
  const link = `${config.issuer}/dashboard/keys/${encodeURIComponent(key.clientId)}`;
  const subject =
    reminder.kind === 'expires'
      ? `API key "${name}" expires ${left}`
      : `The previous secret of API key "${name}" stops working ${left}`;
  const what =
    reminder.kind === 'expires'
      ? `The API key below expires ${left}, at ${when}. Calls made with it will then be refused.`
      : `The API key below was rotated; its previous secret stops working ${left}, at ${when}. Move every caller to the new secret before then.`;
  const text = [
    what,
    '',
    `Key:         ${name}`,
    `Client id:   ${key.clientId}`,
    `Environment: ${key.environment}`,
    `Expires at:  ${when}`,
    '',
    `Open the key: ${link}`,
    '',
    '-- keyport',
  ].join('\n');
  return { to, subject, text };
}
