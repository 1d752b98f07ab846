import type { Knex } from 'knex';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import { Conflict } from '../../errors.js';
import type { Role, Team, User, UserKind } from '../../teams/team.js';
import type { TeamStore } from '../../teams/store.js';
import { dialectOf, insertId, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';
import { createSqlTeamAdminStore } from './team-admin-store.js';

interface TeamRow {
  id: number;
  name: string;
  plan: string;
  created_at: number;
  external_id?: string | null;
  suspended_at?: number | string | null;
}
interface UserRow {
  id: number;
  kind: UserKind;
  email: string | null;
  password_hash: string | null;
  name: string | null;
}

export const toTeam = (r: TeamRow): Team => ({
  id: r.id,
  name: r.name,
  plan: r.plan,
  createdAt: Number(r.created_at),
  // Only when set: a team made with `teamadd` reads as it always did.
  ...(r.external_id != null ? { externalId: r.external_id } : {}),
  ...(r.suspended_at != null ? { suspendedAt: Number(r.suspended_at) } : {}),
});
const toUser = (r: UserRow): User => ({
  id: r.id,
  kind: r.kind,
  email: r.email,
  passwordHash: r.password_hash,
  name: r.name,
});

/** TeamStore on the SQL tables teams, users and team_memberships. */
export function createSqlTeamStore(db: Db, clock: Clock = systemClock): TeamStore {
  return {
    ...createSqlTeamAdminStore(db),
    async createTeam(name, plan) {
      const createdAt = secondsOf(clock);
      const id = await insertId(db, db('teams').insert({ name, plan, created_at: createdAt }));
      return { id, name, plan, createdAt };
    },

    async removeMember(teamId, userId, tx) {
      const run = async (t: Knex) => {
        const left = await t('team_memberships').where({ team_id: teamId, user_id: userId }).delete();
        if (left === 0) return undefined;
        await t('dashboard_sessions').where({ team_id: teamId, user_id: userId }).delete();
        const account = String(userId);
        const teamApps = t('o_auth_clients').where({ team_id: teamId }).select('client_id');
        const held = await t('oidc_payloads')
          .where({ account_id: account })
          .whereIn('client_id', teamApps.clone())
          .distinct('client_id');
        await t('oidc_payloads').where({ account_id: account }).whereIn('client_id', teamApps).delete();
        // Their sign-in sessions at keyport too: the next app they open asks them to sign in again.
        await t('oidc_payloads').where({ type: 'Session', account_id: account }).delete();
        return { clientIds: held.map((row: { client_id: string }) => row.client_id) };
      };
      return tx ? run(sqlOf(db, tx)) : db.transaction(run);
    },

    async findTeamByExternalId(externalId) {
      const row = await db<TeamRow>('teams').where({ external_id: externalId }).first();
      // Byte for byte on every database (the column is binary-collated on MySQL; SQLite and PostgreSQL compare bytes).
      return row && row.external_id === externalId ? toTeam(row) : undefined;
    },

    async findTeam(id) {
      const row = await db<TeamRow>('teams').where({ id }).first();
      return row && toTeam(row);
    },

    async createMember(teamId, user, role, tx) {
      const run = async (t: Knex) => {
        const now = secondsOf(clock);
        const id = await insertId(
          t,
          t('users').insert({
            kind: user.kind,
            email: user.email ?? null,
            password_hash: user.passwordHash ?? null,
            name: user.name ?? null,
            created_at: now,
          }),
        );
        await t('team_memberships').insert({ team_id: teamId, user_id: id, role, created_at: now });
        return {
          id,
          kind: user.kind,
          email: user.email ?? null,
          passwordHash: user.passwordHash ?? null,
          name: user.name ?? null,
        };
      };
      try {
        return await (tx ? run(sqlOf(db, tx)) : db.transaction(run));
      } catch (err) {
        if (dialectOf(db).isDuplicateKey(err)) throw new Conflict(`a user with email ${user.email} already exists`);
        throw err;
      }
    },

    async findUserByEmail(email) {
      const row = await db<UserRow>('users').where({ email }).first();
      // Byte for byte, whatever the column's collation (teams/email.ts).
      return row && row.email === email ? toUser(row) : undefined;
    },

    async findUser(id) {
      const row = await db<UserRow>('users').where({ id }).first();
      return row && toUser(row);
    },

    async membershipsOf(userId) {
      const rows = await db('team_memberships').where({ user_id: userId }).orderBy('created_at');
      return rows.map((row) => ({ teamId: row.team_id, userId: row.user_id, role: row.role }));
    },

    async listMembers(teamId) {
      const rows = await db('team_memberships')
        .join('users', 'users.id', 'team_memberships.user_id')
        .where({ team_id: teamId })
        .orderBy('users.id')
        .select<Array<UserRow & { role: Role }>>(['users.*', 'team_memberships.role']);
      return rows.map((row) => ({ user: toUser(row), role: row.role }));
    },

    async findMembership(teamId, userId, tx) {
      const row = await sqlOf(db, tx)('team_memberships').where({ team_id: teamId, user_id: userId }).first();
      return row && { teamId: row.team_id, userId: row.user_id, role: row.role };
    },
  };
}
