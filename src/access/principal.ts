import type { Role } from '../teams/team.js';

/**
 * Who is asking, on every surface. A closed union: each surface builds one
 * (the admin API from a Bearer token, the dashboard from its session) and
 * asks `authorize` (authorize.ts) whether it may act on a team.
 */
export type Principal =
  /** The holder of KEYPORT_ADMIN_TOKEN: every team. */
  | { readonly kind: 'operator' }
  /** A person of a team, as signed in to the dashboard; the role is read at each request. */
  | { readonly kind: 'person'; readonly userId: number; readonly teamId: number; readonly role: Role }
  /**
   * A team's client holding an access token with `scopes` (judged against the client's
   * scopes now, not when the token was issued). `person` is set when the token was
   * issued to an app for one of the team's people (authorization_code): the app then
   * acts for that person, with their role now (null once they left the team).
   */
  | {
      readonly kind: 'client';
      readonly clientId: string;
      readonly teamId: number;
      readonly scopes: readonly string[];
      readonly person?: { readonly userId: number; readonly role: Role | null };
    }
  /**
   * The product's sync token (teams/sync-tokens.ts): product-wide, but only for the sync
   * routes (`…/by-external-id/…`); every team action is refused to it.
   */
  | { readonly kind: 'sync_token'; readonly tokenId: number }
  /** A resource server (introspection, /keys/verify): it belongs to no team and acts on none. */
  | { readonly kind: 'resource_server'; readonly clientId: string };

/** Who the audit log names for a principal's action. */
export type Actor =
  | { readonly type: 'operator'; readonly id: null }
  /** `id`: the sync token's id (synctokenlist), never the token. */
  | { readonly type: 'sync_token'; readonly id: string }
  | { readonly type: 'client' | 'person'; readonly id: string; readonly teamId: number };

export function actorOf(principal: Exclude<Principal, { kind: 'resource_server' }>): Actor {
  switch (principal.kind) {
    case 'operator':
      return { type: 'operator', id: null };
    case 'sync_token':
      return { type: 'sync_token', id: String(principal.tokenId) };
    case 'person':
      return { type: 'person', id: String(principal.userId), teamId: principal.teamId };
    case 'client':
      return principal.person
        ? { type: 'person', id: String(principal.person.userId), teamId: principal.teamId }
        : { type: 'client', id: principal.clientId, teamId: principal.teamId };
  }
}
