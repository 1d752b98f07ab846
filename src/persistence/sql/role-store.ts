import type { TeamRole, TeamRoleStore } from '../../clients/roles.js';
import { listFromText, listToText } from '../../clients/permissions.js';
import { insertId, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

interface RoleRow {
  id: number | string;
  team_id: number | string;
  name: string;
  permissions: string | null;
}

const toRole = (row: RoleRow): TeamRole => ({
  id: String(row.id),
  teamId: Number(row.team_id),
  name: row.name,
  permissions: listFromText(row.permissions),
  builtIn: false,
});

/** TeamRoleStore on team_roles; the keys holding a role are read from o_auth_clients.roles. */
export function createSqlRoleStore(db: Db): TeamRoleStore {
  return {
    async listByTeam(teamId) {
      return ((await db('team_roles').where({ team_id: teamId }).orderBy('id')) as RoleRow[]).map(toRole);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = (await db('team_roles').whereIn('id', [...new Set(ids)])) as RoleRow[];
      const byId = new Map(rows.map((r) => [Number(r.id), toRole(r)]));
      return ids.map((id) => byId.get(id));
    },

    async insert(teamId, role, createdAt) {
      const row = {
        team_id: teamId,
        name: role.name,
        permissions: listToText(role.permissions),
        created_at: createdAt,
      };
      const id = await insertId(db, db('team_roles').insert(row));
      return toRole({ ...row, id });
    },

    async update(id, changes, tx) {
      const columns: Record<string, unknown> = {};
      if (changes.name !== undefined) columns.name = changes.name;
      if (changes.permissions !== undefined) columns.permissions = listToText(changes.permissions);
      if (Object.keys(columns).length === 0) return true;
      return (await sqlOf(db, tx)('team_roles').where({ id }).update(columns)) > 0;
    },

    async remove(id, tx) {
      return (await sqlOf(db, tx)('team_roles').where({ id }).delete()) > 0;
    },

    async clientsHolding(teamId, roleId, tx) {
      // A team holds few keys (its plan's max_keys, and the revoked ones): read its rows that name any role.
      const rows = (await sqlOf(
        db,
        tx,
      )('o_auth_clients')
        .where({ team_id: teamId })
        .whereNotNull('roles')
        .select('client_id', 'roles')) as Array<{ client_id: string; roles: string | null }>;
      return rows
        .map((r) => ({ clientId: r.client_id, roles: [...listFromText(r.roles)] }))
        .filter((c) => c.roles.includes(roleId));
    },

    async setClientRoles(clientId, roles, tx) {
      await sqlOf(
        db,
        tx,
      )('o_auth_clients')
        .where({ client_id: clientId })
        .update({ roles: listToText(roles) });
    },
  };
}
