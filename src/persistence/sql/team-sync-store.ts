import { secondsOf, systemClock, type Clock } from '../../clock.js';
import type { TeamSyncStore } from '../../teams/sync-store.js';
import type { UserKind } from '../../teams/team.js';
import { Conflict } from '../../errors.js';
import { insertId, isDuplicateKeyError, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

/** A write that lost a race for the same product id: `conflict` (the sync reads again and finds the winner's row). */
async function once<T>(write: Promise<T>, what: string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new Conflict(`${what} is already taken`);
    throw err;
  }
}

/** TeamSyncStore on teams.external_id, teams.suspended_at and team_memberships.external_id. */
export function createSqlTeamSyncStore(db: Db, clock: Clock = systemClock): TeamSyncStore {
  return {
    async createSyncedTeam({ externalId, name, plan }, tx) {
      const t = sqlOf(db, tx);
      const createdAt = secondsOf(clock);
      const insert = t('teams').insert({ name, plan, created_at: createdAt, external_id: externalId });
      const id = await once(insertId(t, insert), `the team external id "${externalId}"`);
      return { id, name, plan, createdAt, externalId, suspendedAt: null };
    },

    async updateTeam(teamId, { name, plan }, tx) {
      await sqlOf(db, tx)('teams').where({ id: teamId }).update({ name, plan });
    },

    async setSuspended(teamId, at, tx) {
      await sqlOf(db, tx)('teams').where({ id: teamId }).update({ suspended_at: at });
    },

    async endTeamSessions(teamId, tx) {
      const t = sqlOf(db, tx);
      await t('dashboard_sessions').where({ team_id: teamId }).delete();
      const teamApps = t('o_auth_clients').where({ team_id: teamId }).select('client_id');
      const held = await t('oidc_payloads').whereIn('client_id', teamApps.clone()).distinct('client_id');
      await t('oidc_payloads').whereIn('client_id', teamApps).delete();
      // Their sign-in sessions at keyport too, as when a person is removed (team-store.ts removeMember).
      const people = await t('team_memberships').where({ team_id: teamId }).select('user_id');
      const accounts = people.map((row: { user_id: number }) => String(row.user_id));
      if (accounts.length) await t('oidc_payloads').where({ type: 'Session' }).whereIn('account_id', accounts).delete();
      return held.map((row: { client_id: string }) => row.client_id);
    },

    async findSyncedMember(teamId, externalId) {
      const row = await db('team_memberships')
        .join('users', 'users.id', 'team_memberships.user_id')
        .where({ 'team_memberships.team_id': teamId, 'team_memberships.external_id': externalId })
        .first('users.*', 'team_memberships.role as role', 'team_memberships.external_id as external_id');
      if (!row || row.external_id !== externalId) return undefined;
      return {
        user: {
          id: Number(row.id),
          kind: row.kind as UserKind,
          email: row.email,
          passwordHash: row.password_hash,
          name: row.name,
        },
        role: row.role,
      };
    },

    async externalIdOf(teamId, userId, tx) {
      const row = await sqlOf(
        db,
        tx,
      )('team_memberships')
        .where({ team_id: teamId, user_id: userId })
        .first('external_id');
      return row === undefined ? undefined : (row.external_id ?? null);
    },

    async addMembership(teamId, userId, role, externalId, tx) {
      const row = { team_id: teamId, user_id: userId, role, external_id: externalId, created_at: secondsOf(clock) };
      await once(sqlOf(db, tx)('team_memberships').insert(row), `the membership of user ${userId}`);
    },

    async setMemberExternalId(teamId, userId, externalId, tx) {
      const membership = sqlOf(db, tx)('team_memberships').where({ team_id: teamId, user_id: userId });
      await once(membership.update({ external_id: externalId }), `the person external id "${externalId}"`);
    },

    async setEmail(userId, email, tx) {
      await once(sqlOf(db, tx)('users').where({ id: userId }).update({ email }), email);
    },
  };
}
