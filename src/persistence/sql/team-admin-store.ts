import type { Knex } from 'knex';
import type { TeamStore } from '../../teams/store.js';
import type { Team } from '../../teams/team.js';
import { dialectOf, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

type TeamAdminStore = Pick<
  TeamStore,
  'listTeams' | 'setPlan' | 'lockTeam' | 'adminsOf' | 'setRole' | 'setPassword' | 'teamClientIds'
>;

/** The operator's changes to teams and people (issue 24 item 8), on teams, team_memberships and users. */
export function createSqlTeamAdminStore(db: Db): TeamAdminStore {
  const dialect = dialectOf(db);
  return {
    async listTeams() {
      const rows = await db('teams').orderBy('id');
      // As team-store.ts toTeam: the product's id and the suspension only when set.
      return rows.map((r): Team => ({
        id: r.id,
        name: r.name,
        plan: r.plan,
        createdAt: Number(r.created_at),
        ...(r.external_id != null ? { externalId: r.external_id } : {}),
        ...(r.suspended_at != null ? { suspendedAt: Number(r.suspended_at) } : {}),
      }));
    },

    async setPlan(teamId, plan, tx) {
      await sqlOf(db, tx)('teams').where({ id: teamId }).update({ plan });
    },

    async lockTeam(teamId, tx) {
      // As ClientStore.lockTeamKeys: FOR UPDATE where rows lock; on SQLite a write takes the one writer's lock.
      const lock = sqlOf(db, tx)('teams').where({ id: teamId });
      if (dialect.rowLocks) await lock.forUpdate().first('id');
      else await lock.update({ id: teamId });
    },

    async adminsOf(teamId, tx) {
      const rows = await sqlOf(db, tx)('team_memberships').where({ team_id: teamId, role: 'admin' }).select('user_id');
      return rows.map((row: { user_id: number }) => Number(row.user_id));
    },

    async setRole(teamId, userId, role, tx) {
      await sqlOf(db, tx)('team_memberships').where({ team_id: teamId, user_id: userId }).update({ role });
    },

    async setPassword(userId, passwordHash, tx) {
      const t: Knex = sqlOf(db, tx);
      await t('users').where({ id: userId }).update({ password_hash: passwordHash });
      await t('dashboard_sessions').where({ user_id: userId }).delete();
      const account = String(userId);
      const held = await t('oidc_payloads')
        .where({ account_id: account })
        .whereNotNull('client_id')
        .distinct('client_id');
      // Sign-in sessions, and what was approved with the old password: tokens, refresh tokens, codes, grants.
      await t('oidc_payloads').where({ account_id: account }).delete();
      return { clientIds: held.map((row: { client_id: string }) => row.client_id) };
    },

    async teamClientIds(teamId, tx) {
      const rows = await sqlOf(db, tx)('o_auth_clients').where({ team_id: teamId }).select('client_id');
      return rows.map((row: { client_id: string }) => row.client_id);
    },
  };
}
