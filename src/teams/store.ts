import type { Tx } from '../unit-of-work.js';
import type { Membership, Role, Team, User, UserKind } from './team.js';

export interface NewUser {
  readonly kind: UserKind;
  readonly email?: string;
  readonly passwordHash?: string;
  readonly name?: string;
}

export interface TeamStore {
  createTeam(name: string, plan: string): Promise<Team>;
  findTeam(id: number): Promise<Team | undefined>;
  /**
   * The team the product calls `externalId` (issue 26), byte for byte whatever
   * the database's collation, with its suspension: the one lookup behind the
   * sync API, the hand-off, the product's sign-in and `teamadd -external-id`.
   */
  findTeamByExternalId(externalId: string): Promise<Team | undefined>;
  /**
   * Creates the user and its membership in one transaction (`tx` joins an outer one);
   * an email already taken is `conflict`.
   */
  createMember(teamId: number, user: NewUser, role: Role, tx?: Tx): Promise<User>;
  findUserByEmail(email: string): Promise<User | undefined>;
  findUser(id: number): Promise<User | undefined>;
  /** In `tx` when given (SQLite has one connection: a read outside a running transaction waits for it). */
  findMembership(teamId: number, userId: number, tx?: Tx): Promise<Membership | undefined>;
  /** The teams a user belongs to, oldest membership first. */
  membershipsOf(userId: number): Promise<Membership[]>;
  /**
   * Ends a person's membership of the team, in one transaction (`tx` joins an
   * outer one): the membership, their dashboard sessions in the team, their
   * sign-in sessions, and every token, refresh token, code and grant they hold
   * with the team's apps. Undefined when they were no member; else the apps
   * whose tokens went (guards drop what they cached about them).
   */
  removeMember(teamId: number, userId: number, tx?: Tx): Promise<{ clientIds: string[] } | undefined>;
  /** Everyone in the team (people and service-account users) with their role. */
  listMembers(teamId: number): Promise<Array<{ user: User; role: Role }>>;
  /** Every team, oldest first. */
  listTeams(): Promise<Team[]>;
  /** Sets the team's plan inside `tx`. */
  setPlan(teamId: number, plan: string, tx: Tx): Promise<void>;
  /**
   * Locks the team's memberships for a change of who is admin (MySQL,
   * PostgreSQL: the team row FOR UPDATE; SQLite has one writer), so two
   * demotions racing cannot both see another admin.
   */
  lockTeam(teamId: number, tx: Tx): Promise<void>;
  /** The user ids of the team's admins, read inside `tx`. */
  adminsOf(teamId: number, tx: Tx): Promise<number[]>;
  setRole(teamId: number, userId: number, role: Role, tx: Tx): Promise<void>;
  /**
   * Sets a person's password hash and ends every session they hold, inside
   * `tx`: dashboard sessions in every team, sign-in sessions, and the tokens,
   * refresh tokens, codes and grants they approved. The apps whose tokens went.
   */
  setPassword(userId: number, passwordHash: string, tx: Tx): Promise<{ clientIds: string[] }>;
  /** The client ids of the team's keys (guards drop what they cached about them on a plan change). */
  teamClientIds(teamId: number, tx: Tx): Promise<string[]>;
}
