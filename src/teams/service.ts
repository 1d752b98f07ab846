import { planNamed } from './plans.js';
import type { Config, PlanSettings } from '../config.js';
import { InsufficientPermissions, InvalidRequest, NotFound } from '../errors.js';
import { printableName } from '../names.js';
import { canonicalEmail, isEmail } from './email.js';
import type { TeamStore } from './store.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { KeyEventStore } from '../events/key-events.js';
import { systemClock, type Clock } from '../clock.js';
import { ROLES, type Role, type Team, type User } from './team.js';
import type { DomainEvents } from '../events/domain-events.js';
import { hashPassword } from './people.js';
import { createTeamManagement, type PersonRef, type TeamManagement, type TeamManagementDeps } from './management.js';

export interface TeamService extends TeamManagement {
  createTeam(input: { name: string; plan: string }): Promise<Team>;
  addPerson(input: { teamId: number; email: string; password: string; role?: string }): Promise<User>;
  /** Sets a person's new password (the useradd rule: 8 characters to 72 bytes). */
  changePassword(userId: number, password: string): Promise<void>;
  getTeam(teamId: number): Promise<Team>;
  planOf(team: Team): PlanSettings;
  /** Throws `insufficient_permissions` unless the team's plan includes API access. */
  requireApiAccess(team: Team): void;
  /** The user, when it is an admin of the team; else `insufficient_permissions`. */
  requireAdmin(teamId: number, email: string): Promise<User>;
  /**
   * Removes a person from the team, and with it their access at once: their
   * access and refresh tokens, codes and grants with the team's apps, their
   * dashboard sessions in the team and their sign-in sessions; guards are
   * told the apps changed. `not_found` when the email is no member;
   * `last_admin` for the team's last admin.
   */
  removeMember(input: { teamId: number } & PersonRef): Promise<User>;
}

export interface TeamServiceDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  /** The removal and its key changes commit together. */
  readonly unitOfWork: UnitOfWork;
  readonly keyEvents: KeyEventStore;
  readonly clock?: Clock;
  /** Team and people changes are published here (the CLI's audit rows). */
  readonly events?: DomainEvents;
  readonly adoptClients?: TeamManagementDeps['adoptClients'];
  readonly serviceAccountKeys?: TeamManagementDeps['serviceAccountKeys'];
}

export function createTeamService({
  config,
  teams,
  unitOfWork,
  keyEvents,
  clock = systemClock,
  events,
  adoptClients,
  serviceAccountKeys,
}: TeamServiceDeps): TeamService {
  const planOf = (team: Team): PlanSettings => planNamed(config.plans, team.plan);

  async function getTeam(teamId: number): Promise<Team> {
    const team = Number.isSafeInteger(teamId) && teamId > 0 ? await teams.findTeam(teamId) : undefined;
    if (!team) throw new NotFound(`team ${teamId} not found`);
    return team;
  }

  const management = createTeamManagement({
    config,
    teams,
    unitOfWork,
    keyEvents,
    events,
    clock,
    getTeam,
    adoptClients,
    serviceAccountKeys,
  });

  return {
    ...management,
    async createTeam({ name, plan }) {
      const trimmed = printableName(name);
      if (trimmed === undefined)
        throw new InvalidRequest(
          'name',
          'must be 1 to 200 printable characters, without control or bidirectional-override characters',
        );
      if (!Object.hasOwn(config.plans, plan)) {
        throw new InvalidRequest(
          'plan',
          `unknown plan "${plan}"; known plans: ${Object.keys(config.plans).join(', ')}`,
        );
      }
      return teams.createTeam(trimmed, plan);
    },

    async addPerson({ teamId, email, password, role = 'member' }) {
      await this.getTeam(teamId);
      const normalized = canonicalEmail(email);
      if (!isEmail(normalized)) throw new InvalidRequest('email', 'is not an email address');
      if (!ROLES.includes(role as Role)) throw new InvalidRequest('role', `must be one of ${ROLES.join(', ')}`);
      const passwordHash = await hashPassword(password);
      // An email already taken is the store's `conflict`.
      return teams.createMember(teamId, { kind: 'person', email: normalized, passwordHash }, role as Role);
    },

    async changePassword(userId, password) {
      const hash = await hashPassword(password);
      // As a reset: every session of the person ends (the dashboard's, sign-in's, the tokens they approved).
      await unitOfWork.run(async (tx) => {
        const { clientIds } = await teams.setPassword(userId, hash, tx);
        for (const clientId of clientIds) await keyEvents.record(clientId, clock.now(), tx);
      });
    },

    getTeam,

    planOf,

    requireApiAccess(team) {
      if (team.suspendedAt != null) throw new InsufficientPermissions('the team is suspended');
      if (!planOf(team).api_access) {
        throw new InsufficientPermissions(`the team's plan "${team.plan}" does not include API access`);
      }
    },

    async removeMember({ teamId, ...person }) {
      await getTeam(teamId);
      const user =
        'email' in person
          ? await teams.findUserByEmail(canonicalEmail(person.email))
          : await teams.findUser(person.userId);
      const who = 'email' in person ? person.email : `user ${person.userId}`;
      const notMember = () => new NotFound(`${who} is not a member of team ${teamId}`);
      if (!user || user.kind !== 'person') throw notMember();
      await unitOfWork.run(async (tx) => {
        await management.keepAnAdmin(teamId, user.id, tx);
        const removed = await teams.removeMember(teamId, user.id, tx);
        if (!removed) throw notMember();
        await events?.publish({ type: 'member.removed', teamId, userId: user.id, email: user.email }, tx);
        // Guards drop what they cached about these apps (the person's tokens among it).
        for (const clientId of removed.clientIds) await keyEvents.record(clientId, clock.now(), tx);
      });
      return user;
    },

    async requireAdmin(teamId, email) {
      const user = await teams.findUserByEmail(canonicalEmail(email));
      const membership = user && (await teams.findMembership(teamId, user.id));
      if (!user || membership?.role !== 'admin') {
        throw new InsufficientPermissions(`${email} is not an admin of team ${teamId}`);
      }
      return user;
    },
  };
}
