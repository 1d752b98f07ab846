import { interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { TeamStore } from '../teams/store.js';
import { keyportMetadata } from '../clients/metadata.js';

/**
 * An app acts only for people of its own team. oidc-provider asks
 * `findAccount` for the session's person at the authorization endpoint, and
 * for the code's or refresh token's person when they are redeemed; keyport
 * answers only for a person who still exists and is a member of the team
 * that owns the client. So a code or refresh token of someone who left the
 * team redeems to `invalid_grant`, and a session of another team's person
 * is no account at all for this app (see `teamMembershipPolicy`).
 */
export function findTeamMember(teams: TeamStore): Configuration['findAccount'] {
  return async (ctx, sub) => {
    const teamId = (ctx.oidc.client ? keyportMetadata(ctx.oidc.client) : undefined)?.team_id;
    const person = await teamMember(teams, teamId, sub);
    if (!person) return undefined;
    // OpenID Connect claims (scopes profile and email); oidc-provider picks those granted.
    return {
      accountId: sub,
      claims: () => ({
        sub,
        ...(person.name ? { name: person.name } : {}),
        ...(person.email ? { email: person.email, email_verified: false } : {}),
      }),
    };
  };
}

async function teamMember(teams: TeamStore, teamId: number | null | undefined, accountId: string | undefined) {
  const userId = Number(accountId);
  if (teamId === null || teamId === undefined || !Number.isSafeInteger(userId) || userId < 1) return undefined;
  const user = await teams.findUser(userId);
  return user?.kind === 'person' && (await teams.findMembership(teamId, userId)) !== undefined ? user : undefined;
}

export async function isTeamMember(
  teams: TeamStore,
  teamId: number | null | undefined,
  accountId: string | undefined,
): Promise<boolean> {
  return (await teamMember(teams, teamId, accountId)) !== undefined;
}

/**
 * oidc-provider's default policy skips sign-in whenever the browser has a
 * session. keyport adds a check to the login prompt: a session whose person
 * is no member of this app's team (findAccount found no account) must sign in
 * again, as a member, before any consent page or code.
 */
export function teamMembershipPolicy(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.add(
    new interactionPolicy.Check(
      'team_membership',
      'sign in as a member of the team that owns this application',
      (ctx: KoaContextWithOIDC) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT,
    ),
  );
  return policy;
}
