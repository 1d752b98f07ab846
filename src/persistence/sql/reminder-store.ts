import type { Environment } from '../../clients/client.js';
import { GRACE_THRESHOLD_DAYS, type ReminderKind, type ReminderStore } from '../../clients/expiry-reminders.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

const TABLE = 'key_reminders';
const DAY = 86_400;

interface Row {
  id: number | string;
  client_id: string;
  kind: string;
  threshold_days: number | string;
  expires_at: number | string;
}

const reminderOf = (row: Row) => ({
  id: Number(row.id),
  clientId: row.client_id,
  kind: row.kind as ReminderKind,
  thresholdDays: Number(row.threshold_days),
  expiresAt: Number(row.expires_at),
});

const num = (value: number | string | null) => (value === null ? null : Number(value));

/**
 * ReminderStore on key_reminders. Every step that decides who does the work
 * is one conditional statement whose affected-row count answers, so it holds
 * on SQLite, MySQL and PostgreSQL alike without row locks.
 */
export function createSqlReminderStore(db: Db): ReminderStore {
  return {
    async expiringKeys(now, horizon) {
      const rows = (await db('o_auth_clients')
        .whereNotNull('team_id')
        .whereNull('revoked_at')
        .andWhere((q) =>
          q
            .where((e) => e.where('expires_at', '>', now).andWhere('expires_at', '<=', now + horizon))
            .orWhere((g) =>
              g
                .where('previous_secret_expires_at', '>', now)
                .andWhere('previous_secret_expires_at', '<=', now + GRACE_THRESHOLD_DAYS * DAY),
            ),
        )
        .select('client_id', 'team_id', 'name', 'environment', 'expires_at', 'previous_secret_expires_at')) as Array<{
        client_id: string;
        team_id: number | string;
        name: string | null;
        environment: string | null;
        expires_at: number | string | null;
        previous_secret_expires_at: number | string | null;
      }>;
      return rows.map((row) => ({
        clientId: row.client_id,
        teamId: Number(row.team_id),
        name: row.name,
        environment: (row.environment ?? 'prod') as Environment,
        expiresAt: num(row.expires_at),
        previousSecretExpiresAt: num(row.previous_secret_expires_at),
      }));
    },

    async ensure(reminder, now) {
      await db(TABLE)
        .insert({
          client_id: reminder.clientId,
          kind: reminder.kind,
          threshold_days: reminder.thresholdDays,
          expires_at: reminder.expiresAt,
          created_at: now,
        })
        .onConflict(['client_id', 'kind', 'threshold_days', 'expires_at'])
        .ignore();
    },

    async unannounced() {
      return ((await db(TABLE).whereNull('announced_at').orderBy('id').limit(500)) as Row[]).map(reminderOf);
    },

    async markAnnounced(id, now, tx) {
      const updated = await sqlOf(db, tx)(TABLE).where({ id }).whereNull('announced_at').update({ announced_at: now });
      return updated === 1;
    },

    async unsent(now) {
      const rows = (await db(TABLE)
        .whereNull('sent_at')
        .andWhere('expires_at', '>', now)
        .orderBy('id')
        .limit(500)) as Row[];
      return rows.map(reminderOf);
    },

    async claim(id, now, until) {
      const updated = await db(TABLE)
        .where({ id })
        .whereNull('sent_at')
        .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
        .update({ claimed_until: until, attempts: db.raw('attempts + 1') });
      return updated === 1;
    },

    async markSent(id, now) {
      await db(TABLE).where({ id }).update({ sent_at: now, claimed_until: null });
    },

    async release(id) {
      await db(TABLE).where({ id }).whereNull('sent_at').update({ claimed_until: null });
    },
  };
}
