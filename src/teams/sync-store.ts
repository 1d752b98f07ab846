import type { Tx } from '../unit-of-work.js';
import type { Role, Team, User } from './team.js';

/** The rows behind the product's sync (issue 26 item 3): teams and memberships named by the product's ids. */
export interface TeamSyncStore {
  /** A new team named by the product's id, inside `tx`. */
  createSyncedTeam(input: { externalId: string; name: string; plan: string }, tx: Tx): Promise<Team>;
  updateTeam(teamId: number, fields: { name: string; plan: string }, tx: Tx): Promise<void>;
  /** Suspends the team at `at` (epoch seconds), or resumes it (null). */
  setSuspended(teamId: number, at: number | null, tx: Tx): Promise<void>;
  /**
   * Ends, inside `tx`, what the team's people hold: their dashboard sessions in
   * the team, their sign-in sessions at keyport, and every token, refresh
   * token, code and grant issued to the team's apps and keys. The apps whose
   * tokens went (guards drop what they cached about them).
   */
  endTeamSessions(teamId: number, tx: Tx): Promise<string[]>;
  /** The person the team's product calls `externalId`, with their role. */
  findSyncedMember(teamId: number, externalId: string): Promise<{ user: User; role: Role } | undefined>;
  /** The product's id of the person's membership of the team (null: none yet). */
  externalIdOf(teamId: number, userId: number, tx?: Tx): Promise<string | null | undefined>;
  /** Makes an existing user a member of the team, named by the product's id. */
  addMembership(teamId: number, userId: number, role: Role, externalId: string, tx: Tx): Promise<void>;
  setMemberExternalId(teamId: number, userId: number, externalId: string, tx: Tx): Promise<void>;
  setEmail(userId: number, email: string, tx: Tx): Promise<void>;
}
