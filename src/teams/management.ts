import type { Config } from '../config.js';
import { InvalidRequest, LastAdmin, NotFound } from '../errors.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { KeyEventStore } from '../events/key-events.js';
import type { Tx, UnitOfWork } from '../unit-of-work.js';
import type { Clock } from '../clock.js';
import { canonicalEmail } from './email.js';
import { generatePassword, hashPassword } from './people.js';
import type { TeamStore } from './store.js';
import { ROLES, type Role, type Team, type User } from './team.js';

/** A person of a team, named by email (the CLI) or by user id (the admin API). */
export type PersonRef = { readonly email: string } | { readonly userId: number };

export interface Member {
  readonly user: User;
  readonly role: Role;
  /** A service account's key. */
  readonly clientId?: string;
}

/** The operator's management of teams and people (issue 24 item 8); each change is published as a domain event. */
export interface TeamManagement {
  listTeams(): Promise<Team[]>;
  /** Moves the team to `plan` at once: its keys' limits, access and key count follow at the next request. */
  changePlan(input: { teamId: number; plan: string }): Promise<{ team: Team; previous: string }>;
  /** The team's people and service accounts (rows inserted by hand adopted first, as their own service accounts). */
  listMembers(teamId: number): Promise<Member[]>;
  /** `last_admin` when it would leave the team with no admin. */
  changeRole(input: { teamId: number; person: PersonRef; role: string }): Promise<{ user: User; previous: Role }>;
  /**
   * Sets a new password (`password`, or a generated one returned this once) and ends every
   * session of the person: dashboard and sign-in sessions, and the tokens and grants they approved.
   */
  resetPassword(input: { teamId: number; person: PersonRef; password?: string }): Promise<{
    user: User;
    generated?: string;
  }>;
  /** The person of the team, or `not_found`. */
  findPerson(teamId: number, person: PersonRef): Promise<{ user: User; role: Role }>;
  /** Refuses (`last_admin`) to take the team's last admin away; inside the change's transaction. */
  keepAnAdmin(teamId: number, userId: number, tx: Tx): Promise<void>;
}

export interface TeamManagementDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly unitOfWork: UnitOfWork;
  readonly keyEvents: KeyEventStore;
  readonly events?: DomainEvents;
  readonly clock: Clock;
  readonly getTeam: (teamId: number) => Promise<Team>;
  /** Makes the team's rows inserted by hand first-class (clients/ adopts them) before they are listed. */
  readonly adoptClients?: (teamId: number) => Promise<void>;
  /** The team's service-account keys, by user id. */
  readonly serviceAccountKeys?: (teamId: number) => Promise<ReadonlyMap<number, string>>;
}

export function createTeamManagement(deps: TeamManagementDeps): TeamManagement {
  const { config, teams, unitOfWork, keyEvents, events, clock, getTeam } = deps;
  const publish: DomainEvents['publish'] = (event, tx) => events?.publish(event, tx) ?? Promise.resolve();

  async function findPerson(teamId: number, person: PersonRef) {
    await getTeam(teamId);
    const user =
      'email' in person
        ? await teams.findUserByEmail(canonicalEmail(person.email))
        : await teams.findUser(person.userId);
    const membership = user && (await teams.findMembership(teamId, user.id));
    const name = 'email' in person ? person.email : `user ${person.userId}`;
    if (!user || !membership || user.kind !== 'person') throw new NotFound(`${name} is not a person of team ${teamId}`);
    return { user, role: membership.role };
  }

  async function keepAnAdmin(teamId: number, userId: number, tx: Tx) {
    await teams.lockTeam(teamId, tx);
    const admins = await teams.adminsOf(teamId, tx);
    if (admins.length === 1 && admins[0] === userId)
      throw new LastAdmin(`the last admin of team ${teamId} stays an admin: make another person admin first`);
  }

  return {
    findPerson,
    keepAnAdmin,

    listTeams: () => teams.listTeams(),

    async changePlan({ teamId, plan }) {
      const team = await getTeam(teamId);
      if (!Object.hasOwn(config.plans, plan))
        throw new InvalidRequest(
          'plan',
          `unknown plan "${plan}"; known plans: ${Object.keys(config.plans).join(', ')}`,
        );
      await unitOfWork.run(async (tx) => {
        await teams.setPlan(teamId, plan, tx);
        await publish({ type: 'team.plan-changed', teamId, plan, previous: team.plan }, tx);
        // Guards drop what they cached of the team's keys: new limits and access at once.
        for (const clientId of await teams.teamClientIds(teamId, tx)) await keyEvents.record(clientId, clock.now(), tx);
      });
      return { team: { ...team, plan }, previous: team.plan };
    },

    async listMembers(teamId) {
      await getTeam(teamId);
      await deps.adoptClients?.(teamId);
      const keys = (await deps.serviceAccountKeys?.(teamId)) ?? new Map<number, string>();
      return (await teams.listMembers(teamId)).map((m) => {
        const clientId = keys.get(m.user.id);
        return clientId ? { ...m, clientId } : m;
      });
    },

    async changeRole({ teamId, person, role }) {
      if (!ROLES.includes(role as Role)) throw new InvalidRequest('role', `must be one of ${ROLES.join(', ')}`);
      const { user, role: previous } = await findPerson(teamId, person);
      await unitOfWork.run(async (tx) => {
        if (role !== 'admin') await keepAnAdmin(teamId, user.id, tx);
        await teams.setRole(teamId, user.id, role as Role, tx);
        await publish({ type: 'member.role-changed', teamId, userId: user.id, email: user.email, role, previous }, tx);
      });
      return { user, previous };
    },

    async resetPassword({ teamId, person, password }) {
      const { user } = await findPerson(teamId, person);
      const generated = password === undefined ? generatePassword() : undefined;
      const hash = await hashPassword(password ?? generated!);
      await unitOfWork.run(async (tx) => {
        const { clientIds } = await teams.setPassword(user.id, hash, tx);
        await publish({ type: 'member.password-reset', teamId, userId: user.id, email: user.email }, tx);
        for (const clientId of clientIds) await keyEvents.record(clientId, clock.now(), tx);
      });
      return { user, ...(generated ? { generated } : {}) };
    },
  };
}
