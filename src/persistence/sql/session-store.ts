import type { SessionStore } from '../../teams/session-store.js';
import type { Db } from './knex.js';

const TABLE = 'dashboard_sessions';

/** SessionStore on the dashboard_sessions table. */
export function createSqlSessionStore(db: Db): SessionStore {
  return {
    async insert(s) {
      await db(TABLE).insert({
        id: s.id,
        user_id: s.userId,
        team_id: s.teamId,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
      });
    },

    async find(id) {
      const row = await db(TABLE).where({ id }).first();
      if (!row || row.id !== id) return undefined;
      return {
        id,
        userId: Number(row.user_id),
        teamId: Number(row.team_id),
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
        lastFormNonce: row.last_form_nonce ?? null,
      };
    },

    async touch(id, lastSeenAt) {
      await db(TABLE).where({ id }).update({ last_seen_at: lastSeenAt });
    },

    async delete(id) {
      await db(TABLE).where({ id }).delete();
    },

    deleteForUser(userId, except) {
      const rows = db(TABLE).where({ user_id: userId });
      if (except !== undefined) rows.whereNot({ id: except });
      return rows.delete();
    },

    deleteSeenBefore: (before) => db(TABLE).where('last_seen_at', '<', before).delete(),

    async useNonce(id, nonce) {
      // Conditional: two submissions of one form cannot both pass.
      const updated = await db(TABLE)
        .where({ id })
        .andWhere((q) => q.whereNull('last_form_nonce').orWhereNot('last_form_nonce', nonce))
        .update({ last_form_nonce: nonce });
      return updated === 1;
    },
  };
}
