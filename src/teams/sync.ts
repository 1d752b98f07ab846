import { secondsOf, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { Conflict, InvalidRequest, NotFound } from '../errors.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { KeyEventStore } from '../events/key-events.js';
import { printableName } from '../names.js';
import type { Tx, UnitOfWork } from '../unit-of-work.js';
import { canonicalEmail, isEmail } from './email.js';
import type { TeamService } from './service.js';
import type { TeamStore } from './store.js';
import type { TeamSyncStore } from './sync-store.js';
import { ROLES, type Role, type Team, type User } from './team.js';

/** What a sync call did: `unchanged` is a repeat, which writes nothing and audits nothing. */
export type SyncOutcome = 'created' | 'updated' | 'unchanged';

export interface SyncedMember {
  readonly team: Team;
  readonly user: User;
  readonly role: Role;
  readonly externalId: string;
}

/**
 * The product keeps keyport's teams and people in step by its own ids (issue
 * 26 item 3). Every call is idempotent: the same call twice changes nothing
 * the second time. A team the product deletes is suspended, not deleted: its
 * keys stop at once and its data stays; the next PUT of the team resumes it.
 */
export interface TeamSync {
  putTeam(input: { externalId: string; name: string; plan: string }): Promise<{ team: Team; outcome: SyncOutcome }>;
  suspendTeam(externalId: string): Promise<{ team: Team; outcome: 'updated' | 'unchanged' }>;
  putMember(input: {
    teamExternalId: string;
    externalId: string;
    email: string;
    role: string;
  }): Promise<{ member: SyncedMember; outcome: SyncOutcome }>;
  /** Removes the person (TeamService.removeMember: their sessions and tokens end at once); a repeat is `unchanged`. */
  removeMember(input: {
    teamExternalId: string;
    externalId: string;
  }): Promise<{ team: Team; outcome: 'updated' | 'unchanged'; user?: User }>;
}

export interface TeamSyncDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly sync: TeamSyncStore;
  readonly teamService: TeamService;
  readonly unitOfWork: UnitOfWork;
  readonly keyEvents: KeyEventStore;
  readonly events?: DomainEvents;
  readonly clock: Clock;
}

export function createTeamSync(deps: TeamSyncDeps): TeamSync {
  const { config, teams, sync, teamService, unitOfWork, keyEvents, events, clock } = deps;
  const publish: DomainEvents['publish'] = (event, tx) => events?.publish(event, tx) ?? Promise.resolve();

  /** The routes' schema says the same; the CLI passes through here alone. */
  function checkId(field: string, value: string) {
    if (!/^[\x21-\x7e]{1,200}$/.test(value))
      throw new InvalidRequest(field, 'must be 1 to 200 printable ASCII characters without spaces');
  }

  async function syncedTeam(externalId: string): Promise<Team> {
    const team = await teams.findTeamByExternalId(externalId);
    if (!team) throw new NotFound(`no team has the external id "${externalId}"`);
    return team;
  }
  /** Guards drop what they cached of the team's keys: a plan change or suspension holds at the next request. */
  async function keysChanged(teamId: number, tx: Tx) {
    for (const clientId of await teams.teamClientIds(teamId, tx)) await keyEvents.record(clientId, clock.now(), tx);
  }

  /**
   * Two calls for the same new product id at once: the one that loses the
   * unique key's race (`conflict`) runs again, finds the winner's row and
   * answers as a repeat would. A conflict the second time is a real one.
   */
  const raced =
    <A, R>(run: (input: A) => Promise<R>) =>
    (input: A): Promise<R> =>
      run(input).catch((err: unknown) => {
        if (err instanceof Conflict) return run(input);
        throw err;
      });

  return {
    putTeam: raced(async function putTeam({ externalId, name, plan }: Parameters<TeamSync['putTeam']>[0]) {
      checkId('external_id', externalId);
      const trimmed = printableName(name);
      if (trimmed === undefined)
        throw new InvalidRequest('name', 'must be 1 to 200 printable characters, without control characters');
      if (!Object.hasOwn(config.plans, plan))
        throw new InvalidRequest(
          'plan',
          `unknown plan "${plan}"; known plans: ${Object.keys(config.plans).join(', ')}`,
        );
      const found = await teams.findTeamByExternalId(externalId);
      if (found && found.name === trimmed && found.plan === plan && found.suspendedAt == null)
        return { team: found, outcome: 'unchanged' };
      const team = await unitOfWork.run(async (tx) => {
        let team: Team;
        if (!found) team = await sync.createSyncedTeam({ externalId, name: trimmed, plan }, tx);
        else {
          await sync.updateTeam(found.id, { name: trimmed, plan }, tx);
          if (found.suspendedAt != null) await sync.setSuspended(found.id, null, tx);
          if (found.plan !== plan || found.suspendedAt != null) await keysChanged(found.id, tx);
          team = { ...found, name: trimmed, plan, suspendedAt: null };
        }
        const resumed = found?.suspendedAt != null;
        await publish(
          { type: 'team.synced', teamId: team.id, externalId, name: trimmed, plan, created: !found, resumed },
          tx,
        );
        return team;
      });
      return { team, outcome: found ? 'updated' : 'created' };
    }),

    async suspendTeam(externalId) {
      const team = await syncedTeam(externalId);
      if (team.suspendedAt != null) return { team, outcome: 'unchanged' };
      const at = secondsOf(clock);
      await unitOfWork.run(async (tx) => {
        await sync.setSuspended(team.id, at, tx);
        // The people's sessions and tokens end with it; keysChanged tells guards of every key of the team.
        await sync.endTeamSessions(team.id, tx);
        await keysChanged(team.id, tx);
        await publish({ type: 'team.suspended', teamId: team.id, externalId }, tx);
      });
      return { team: { ...team, suspendedAt: at }, outcome: 'updated' };
    },

    putMember: raced(async function putMember({
      teamExternalId,
      externalId,
      email,
      role,
    }: Parameters<TeamSync['putMember']>[0]) {
      checkId('external_id', externalId);
      const team = await syncedTeam(teamExternalId);
      const normalized = canonicalEmail(email);
      if (!isEmail(normalized)) throw new InvalidRequest('email', 'is not an email address');
      if (!ROLES.includes(role as Role)) throw new InvalidRequest('role', `must be one of ${ROLES.join(', ')}`);
      const wanted = role as Role;
      const synced = (user: User, outcome: SyncOutcome) => ({
        member: { team, user: { ...user, email: normalized }, role: wanted, externalId },
        outcome,
      });

      const existing = await sync.findSyncedMember(team.id, externalId);
      const byEmail = await teams.findUserByEmail(normalized);
      if (existing && existing.user.email === normalized && existing.role === wanted)
        return { member: { team, ...existing, externalId }, outcome: 'unchanged' };
      if (byEmail && byEmail.id !== existing?.user.id) {
        // Another user has this email: adopt it when it is a person with no product id in this team yet.
        const theirs = await sync.externalIdOf(team.id, byEmail.id);
        if (existing || byEmail.kind !== 'person' || (theirs !== undefined && theirs !== null))
          throw new Conflict(`${normalized} is already another person of keyport`);
      }

      let user = existing?.user ?? byEmail;
      let outcome: SyncOutcome = 'updated';
      await unitOfWork.run(async (tx) => {
        if (existing) {
          if (existing.role === 'admin' && wanted !== 'admin')
            await teamService.keepAnAdmin(team.id, existing.user.id, tx);
          if (existing.user.email !== normalized) await sync.setEmail(existing.user.id, normalized, tx);
          if (existing.role !== wanted) await teams.setRole(team.id, existing.user.id, wanted, tx);
        } else if (byEmail) {
          // Inside the transaction, every read goes through `tx` (SQLite's one connection is the transaction's).
          const membership = await sync.externalIdOf(team.id, byEmail.id, tx);
          if (membership === undefined) {
            await sync.addMembership(team.id, byEmail.id, wanted, externalId, tx);
            outcome = 'created';
          } else {
            const current = await teams.findMembership(team.id, byEmail.id, tx);
            if (current?.role === 'admin' && wanted !== 'admin') await teamService.keepAnAdmin(team.id, byEmail.id, tx);
            await sync.setMemberExternalId(team.id, byEmail.id, externalId, tx);
            await teams.setRole(team.id, byEmail.id, wanted, tx);
          }
        } else {
          // No password: the person cannot sign in with one until it is set (userpassword, or the product's sign-in).
          user = await teams.createMember(team.id, { kind: 'person', email: normalized }, wanted, tx);
          await sync.setMemberExternalId(team.id, user.id, externalId, tx);
          outcome = 'created';
        }
        await publish(
          {
            type: 'member.synced',
            teamId: team.id,
            userId: user!.id,
            externalId,
            email: normalized,
            role: wanted,
            created: outcome === 'created',
          },
          tx,
        );
      });
      return synced(user!, outcome);
    }),

    async removeMember({ teamExternalId, externalId }) {
      const team = await syncedTeam(teamExternalId);
      const member = await sync.findSyncedMember(team.id, externalId);
      if (!member) return { team, outcome: 'unchanged' };
      const user = await teamService.removeMember({ teamId: team.id, userId: member.user.id });
      return { team, outcome: 'updated', user };
    },
  };
}
