import { InsufficientPermissions, NotFound, assertNever } from '../errors.js';
import type { Role } from '../teams/team.js';
import type { Principal } from './principal.js';

/** Everything a principal may ask to do in a team. */
export type TeamAction = 'keys:read' | 'keys:manage' | 'audit:read' | 'members:read';
export const TEAM_ACTIONS: readonly TeamAction[] = ['keys:read', 'keys:manage', 'audit:read', 'members:read'];

/** The scope a client's token needs for the admin API (docs/contract.md, Admin API). */
export const MANAGE_SCOPE = 'keys:manage';

/** What each role may do in its own team: admins manage keys, members see them (docs/contract.md, The dashboard). */
const ROLE_MAY: Readonly<Record<Role, readonly TeamAction[]>> = {
  admin: TEAM_ACTIONS,
  member: ['keys:read', 'audit:read', 'members:read'],
};

/** Why a principal may or may not act; one closed set, mapped to the wire once (`authorize`). */
export type Decision = 'allowed' | 'other_team' | 'missing_scope' | 'not_admin' | 'role_forbids' | 'sync_only';

/**
 * The one team-authorization rule, for every surface. Another team is checked
 * first and answers as a team that does not exist: tenants never learn of each
 * other. A pure function of the principal, which the surface builds afresh at
 * each request (so a demoted admin loses access at the next one).
 */
export function decide(principal: Principal, teamId: number, action: TeamAction): Decision {
  switch (principal.kind) {
    case 'operator':
      return 'allowed';
    case 'resource_server':
      return 'other_team';
    // Product-wide, so no team is hidden from it: it is told it may not (403), not that none exists.
    case 'sync_token':
      return 'sync_only';
    case 'person':
      if (principal.teamId !== teamId) return 'other_team';
      return ROLE_MAY[principal.role].includes(action) ? 'allowed' : 'role_forbids';
    case 'client': {
      if (principal.teamId !== teamId) return 'other_team';
      // keys:manage is the catalogue's one admin scope: it opens every team action to a client.
      if (!principal.scopes.includes(MANAGE_SCOPE)) return 'missing_scope';
      const { person } = principal;
      // An app acting for a person holds no more than the person: keys:manage is handed over
      // only by an admin, and only while they still are one (docs/contract.md, Admin API).
      if (person && (person.role === null || !ROLE_MAY[person.role].includes('keys:manage'))) return 'not_admin';
      return 'allowed';
    }
  }
}

/** The refusal of a sync token anywhere but the sync routes. */
export const SYNC_ONLY = 'a sync token may call only the sync routes (/api/teams/by-external-id/…)';

/** Whether the principal may; for pages that show or hide an action's button. */
export const may = (principal: Principal, teamId: number, action: TeamAction): boolean =>
  decide(principal, teamId, action) === 'allowed';

/** Throws `not_found` for another team, `insufficient_permissions` for a missing right. */
export function authorize(principal: Principal, teamId: number, action: TeamAction): void {
  const decision = decide(principal, teamId, action);
  switch (decision) {
    case 'allowed':
      return;
    case 'other_team':
      throw new NotFound('not found');
    case 'missing_scope':
      throw new InsufficientPermissions(`the token lacks the ${MANAGE_SCOPE} scope`);
    case 'not_admin':
    case 'role_forbids':
      throw new InsufficientPermissions('only team admins may manage keys');
    case 'sync_only':
      throw new InsufficientPermissions(SYNC_ONLY);
    default:
      assertNever(decision);
  }
}
