import { Conflict } from '../errors.js';
import { canonicalEmail } from './email.js';
import type { TeamStore } from './store.js';
import { ROLES, type Role, type Team, type User } from './team.js';

/**
 * Teams named by the product keyport serves (issue 26): setting the id a team
 * has there (`external_id`; TeamStore.findTeamByExternalId finds it), and people admitted to a team by the product's word
 * (a signed hand-off, or its OpenID Connect provider) rather than by a
 * keyport password.
 */
export interface ExternalTeamStore {
  /** Sets (or clears, with null) a team's external id; another team holding it is `conflict`. */
  setExternalId(teamId: number, externalId: string | null): Promise<void>;
  /** Makes the user a member of the team with this role: adds the membership or changes its role; the role before (null: none). */
  putMembership(teamId: number, userId: number, role: Role): Promise<Role | null>;
  /**
   * Records a signed token's id as used until `expiresAt` (seconds); false when
   * it was used already, by this process or another (the record is the database,
   * as for private_key_jwt assertion ids).
   */
  spendTokenId(kind: string, tokenId: string, expiresAt: number): Promise<boolean>;
}

/** Why the product's word does not admit a person; each is a page of its own. */
export type Refusal = 'unknown_team' | 'team_suspended' | 'bad_role' | 'bad_email' | 'not_a_person';

export type Admission =
  | {
      readonly outcome: 'admitted';
      readonly team: Team;
      readonly user: User;
      readonly role: Role;
      /** The role in the team before this sign-in; null when they were no member. */
      readonly before: Role | null;
    }
  | { readonly outcome: 'refused'; readonly reason: Refusal };

export interface ProductWord {
  readonly teamExternalId: unknown;
  readonly email: unknown;
  readonly role: unknown;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLES.includes(value as Role);

/**
 * Finds or creates, just in time, the person the product names, in the team
 * it names, with the role it gives: the role is the product's at every
 * sign-in (a role changed there applies at the next one). A person made here
 * has no keyport password (password_hash stays null), and a null hash never
 * signs in with a password (access/password-sign-in.ts compares it with a
 * dummy hash).
 */
export async function admitExternalPerson(
  stores: { readonly teams: TeamStore; readonly externalTeams: ExternalTeamStore },
  word: ProductWord,
): Promise<Admission> {
  const refused = (reason: Refusal): Admission => ({ outcome: 'refused', reason });
  if (typeof word.teamExternalId !== 'string' || !word.teamExternalId) return refused('unknown_team');
  if (!isRole(word.role)) return refused('bad_role');
  if (typeof word.email !== 'string' || !EMAIL.test(canonicalEmail(word.email))) return refused('bad_email');
  const email = canonicalEmail(word.email);
  const team = await stores.teams.findTeamByExternalId(word.teamExternalId);
  if (!team) return refused('unknown_team');
  // The product deleted the team (sync DELETE): its people are told so, and get no session.
  if (team.suspendedAt != null) return refused('team_suspended');

  let user = await stores.teams.findUserByEmail(email);
  let created = false;
  if (!user) {
    try {
      user = await stores.teams.createMember(team.id, { kind: 'person', email }, word.role);
      created = true;
    } catch (err) {
      // Two first sign-ins at once: the other one made the person.
      if (!(err instanceof Conflict)) throw err;
      user = await stores.teams.findUserByEmail(email);
      if (!user) throw err;
    }
  }
  if (user.kind !== 'person') return refused('not_a_person');
  const before = await stores.externalTeams.putMembership(team.id, user.id, word.role);
  if (created) return { outcome: 'admitted', team, user, role: word.role, before: null };
  return { outcome: 'admitted', team, user, role: word.role, before };
}
