import type { Tx, UnitOfWork } from '../unit-of-work.js';
import type { Config } from '../config.js';
import { createBatcher } from '../batch.js';
import { InsufficientPermissions, InvalidRequest, NotFound } from '../errors.js';
import { printableName } from '../names.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { ClientRecord } from './client.js';
import { CLIENT_LIMITS } from './limits.js';
import { checkPermissions } from './permissions.js';

/*
 * Roles (issue 28 item 2): named sets of permissions. The product's come from
 * its configuration (`roles`, with the read-only preset) and every team has
 * them; a team's own are made through the admin API or the dashboard, are
 * numbered, and no other team sees or uses them. A key holds role ids; what
 * they grant is read at each verification, so a role's change reaches every
 * key holding it at once, and each such key's change is pushed to the guards.
 */

export interface Role {
  readonly id: string;
  readonly name: string;
  readonly permissions: readonly string[];
  /** The product's (config), the same for every team and not editable through a team. */
  readonly builtIn: boolean;
}

/** A team's own role as stored. */
export interface TeamRole extends Role {
  readonly teamId: number;
}

export interface TeamRoleStore {
  listByTeam(teamId: number): Promise<TeamRole[]>;
  /** Roles by id, in that order (undefined where none): any team's, the caller filters. */
  findByIds(ids: readonly number[]): Promise<Array<TeamRole | undefined>>;
  insert(teamId: number, role: { name: string; permissions: readonly string[] }, createdAt: number): Promise<TeamRole>;
  update(id: number, changes: { name?: string; permissions?: readonly string[] }, tx: Tx): Promise<boolean>;
  remove(id: number, tx: Tx): Promise<boolean>;
  /** The team's clients holding role `roleId`, with every role id they hold. */
  clientsHolding(teamId: number, roleId: string, tx?: Tx): Promise<Array<{ clientId: string; roles: string[] }>>;
  /** Writes a client's role ids (a role removed from it). */
  setClientRoles(clientId: string, roles: readonly string[], tx: Tx): Promise<void>;
}

/** The largest id team_roles.id (an INT) holds: PostgreSQL refuses a larger number in a query on it (a 500). */
const MAX_ROLE_ID = 2_147_483_647;

/** A team role's id as the wire has it: its number, as text; anything else names no team role. */
const teamRoleNumber = (id: string) =>
  /^[1-9]\d{0,9}$/.test(id) && Number(id) <= MAX_ROLE_ID ? Number(id) : undefined;

export interface RoleService {
  /** The roles a team may give: the product's first (by id), then its own (oldest first). */
  list(teamId: number): Promise<Role[]>;
  create(teamId: number, input: { name: string; permissions?: readonly string[] }): Promise<Role>;
  update(teamId: number, roleId: string, changes: { name?: string; permissions?: readonly string[] }): Promise<Role>;
  remove(teamId: number, roleId: string): Promise<void>;
  /** Role ids a caller gives a key of `teamId`: each the product's or the team's own; else 400 naming it. */
  checkRoles(teamId: number, roles: readonly string[] | undefined, field?: string): Promise<readonly string[]>;
  /** What a key may do now: its own permissions and its roles', sorted, without repeats. */
  effectivePermissions(client: ClientRecord): readonly string[] | Promise<readonly string[]>;
}

export function createRoleService({
  config,
  store,
  unitOfWork,
  events,
  // Concurrent verifications share one read of the roles they name (batch.ts: every committed write is seen).
  findTeamRole = createBatcher((ids: readonly number[]) => store.findByIds(ids)),
  clock = () => Date.now(),
}: {
  config: Pick<Config, 'permissions' | 'productRoles'>;
  store: TeamRoleStore;
  unitOfWork: UnitOfWork;
  events: DomainEvents;
  /** A team role by id (default: batched reads of the store). */
  findTeamRole?: (id: number) => Promise<TeamRole | undefined>;
  clock?: () => number;
}): RoleService {
  const product: Role[] = Object.entries(config.productRoles)
    .map(([id, r]) => ({ id, name: r.name, permissions: [...r.permissions].sort(), builtIn: true }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const productById = new Map(product.map((r) => [r.id, r]));

  const checkName = (name: string) => {
    const checked = printableName(name, CLIENT_LIMITS.roleNameLength);
    if (!checked) throw new InvalidRequest('name', `1 to ${CLIENT_LIMITS.roleNameLength} printable characters`);
    return checked;
  };

  /** The team's own role `roleId`; a product role cannot be changed here, another team's is not found. */
  async function ownRole(teamId: number, roleId: string): Promise<TeamRole> {
    if (productById.has(roleId))
      throw new InsufficientPermissions(`"${roleId}" is the product's role, set in its configuration`);
    const n = teamRoleNumber(roleId);
    const role = n === undefined ? undefined : await findTeamRole(n);
    if (!role || role.teamId !== teamId) throw new NotFound('not found');
    return role;
  }

  /** Tells the guards that every key holding the role changed, in `tx`. */
  async function publishHolders(teamId: number, roleId: string, tx: Tx, drop = false) {
    for (const { clientId, roles } of await store.clientsHolding(teamId, roleId, tx)) {
      if (drop)
        await store.setClientRoles(
          clientId,
          roles.filter((r) => r !== roleId),
          tx,
        );
      await events.publish({ type: 'client.permissions-changed', clientId, teamId }, tx);
    }
  }

  const plain = ({ id, name, permissions, builtIn }: Role): Role => ({ id, name, permissions, builtIn });

  async function permissionsOfRole(teamId: number | null, roleId: string): Promise<readonly string[]> {
    const n = teamRoleNumber(roleId);
    const role = n === undefined || teamId === null ? undefined : await findTeamRole(n);
    // A role of another team (a row edited by hand) grants nothing.
    return role && role.teamId === teamId ? role.permissions : [];
  }

  return {
    async list(teamId) {
      return [...product, ...(await store.listByTeam(teamId)).map(plain)];
    },

    async create(teamId, input) {
      const name = checkName(input.name);
      const permissions = checkPermissions(input.permissions, config.permissions);
      return plain(await store.insert(teamId, { name, permissions }, clock()));
    },

    async update(teamId, roleId, changes) {
      const role = await ownRole(teamId, roleId);
      const columns = {
        ...(changes.name !== undefined ? { name: checkName(changes.name) } : {}),
        ...(changes.permissions !== undefined
          ? { permissions: checkPermissions(changes.permissions, config.permissions) }
          : {}),
      };
      await unitOfWork.run(async (tx) => {
        if (!(await store.update(Number(role.id), columns, tx))) return;
        if (columns.permissions) await publishHolders(teamId, role.id, tx);
      });
      return plain({ ...role, ...columns });
    },

    async remove(teamId, roleId) {
      const role = await ownRole(teamId, roleId);
      await unitOfWork.run(async (tx) => {
        await publishHolders(teamId, role.id, tx, true);
        await store.remove(Number(role.id), tx);
      });
    },

    async checkRoles(teamId, roles, field = 'roles') {
      if (roles === undefined) return [];
      if (roles.length > CLIENT_LIMITS.rolesCount)
        throw new InvalidRequest(field, `at most ${CLIENT_LIMITS.rolesCount}`);
      const given = roles.map(String);
      // Each id checked once, at its first place in what was sent: a refusal names that place (repeats counted).
      for (const [i, id] of given.entries()) {
        if (given.indexOf(id) !== i || productById.has(id)) continue;
        const n = teamRoleNumber(id);
        const role = n === undefined ? undefined : await findTeamRole(n);
        // Another team's role answers as one that does not exist.
        if (!role || role.teamId !== teamId)
          throw new InvalidRequest(`${field}.${i}`, `no role "${id.slice(0, 64)}" in this team`);
      }
      return [...new Set(given)];
    },

    effectivePermissions(client) {
      const fromProduct = client.roles.flatMap((id) => productById.get(id)?.permissions ?? []);
      const teamIds = client.roles.filter((id) => teamRoleNumber(id) !== undefined);
      const merge = (more: readonly (readonly string[])[]) =>
        [...new Set([...client.permissions, ...fromProduct, ...more.flat()])].sort();
      // Most keys hold no team role: answered without a query.
      if (teamIds.length === 0) return merge([]);
      return Promise.all(teamIds.map((id) => permissionsOfRole(client.teamId, id))).then(merge);
    },
  };
}
