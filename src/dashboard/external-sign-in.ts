import Router, { type RouterContext } from '@koa/router';
import type { Config } from '../config.js';
import { PAGE_HEADERS } from '../web/html.js';
import { admitExternalPerson, type ExternalTeamStore, type Refusal } from '../teams/external-people.js';
import type { TeamStore } from '../teams/store.js';
import { createHandoffVerifier, HANDOFF_MAX_LIFETIME_SECONDS, type HandoffRefusal } from './handoff.js';
import { layout, messagePage } from './pages.js';
import { openSession } from './session-cookie.js';
import type { DashboardSessions } from './sessions.js';
import type { ProductSignIn } from './federation.js';

export interface ExternalSignInDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly externalTeams: ExternalTeamStore;
  readonly sessions: DashboardSessions;
  /** Set with `dashboard_oidc`: sign-in with the product's OpenID Connect provider. */
  readonly productSignIn?: ProductSignIn;
}

type Ctx = RouterContext;

/** The `oidc_payloads` type of a spent hand-off id. */
const SPENT_HANDOFF = 'DashboardHandoff';

/** What the person reads when the product's word does not let them in, and its status. */
export const REFUSALS: Record<HandoffRefusal | Refusal | 'replayed', readonly [number, string]> = {
  malformed: [400, 'This sign-in link is not a valid hand-off token.'],
  signature: [401, 'This sign-in link was not signed by a key keyport knows for your product.'],
  issuer: [401, 'This sign-in link was issued by someone keyport does not accept.'],
  audience: [401, 'This sign-in link is meant for another service, not this dashboard.'],
  expired: [401, 'This sign-in link has expired. Go back to the product and open the dashboard again.'],
  lifetime: [
    401,
    `This sign-in link lives too long: a hand-off must expire within ${HANDOFF_MAX_LIFETIME_SECONDS} seconds of being issued.`,
  ],
  replayed: [401, 'This sign-in link was used already. Go back to the product and open the dashboard again.'],
  unknown_team: [
    401,
    'Your account is not linked to any team in keyport. Ask an admin of your team in the product to give you access.',
  ],
  bad_role: [400, 'The product gave a role keyport does not know (admin or member).'],
  bad_email: [400, 'The product gave no valid email address for you.'],
  not_a_person: [401, 'That email belongs to a service account, which cannot sign in.'],
};

export function refusalPage(ctx: Ctx, reason: keyof typeof REFUSALS): void {
  const [status, text] = REFUSALS[reason];
  ctx.status = status;
  ctx.set(PAGE_HEADERS);
  ctx.type = 'html';
  ctx.body = layout('You are not signed in', undefined, messagePage(text, true));
}

/**
 * How people the product vouches for reach the dashboard without a keyport
 * password (issue 26): the product's signed hand-off
 * (`GET /dashboard/handoff?token=…`) and, with `dashboard_oidc`, its own
 * OpenID Connect provider (dashboard/federation.ts). Both end in the same
 * session as a password sign-in; a refusal opens none.
 */
export function createExternalSignInRouter(deps: ExternalSignInDeps): Router {
  const { config } = deps;
  const router = new Router({ prefix: '/dashboard' });
  const checkHandoff = config.handoff && createHandoffVerifier(config.handoff, config.clockSkewSeconds);

  if (checkHandoff) {
    router.get('/handoff', async function handoff(ctx) {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const check = await checkHandoff(token);
      if (check.outcome === 'refused') return refusalPage(ctx, check.reason);
      const { claims } = check;
      // Spent before anything else happens: kept until it expires, so a replay changes nothing, in any process.
      if (!(await deps.externalTeams.spendTokenId(SPENT_HANDOFF, claims.jti, claims.exp + config.clockSkewSeconds)))
        return refusalPage(ctx, 'replayed');
      const admission = await admitExternalPerson(deps, {
        teamExternalId: claims.team,
        email: claims.email,
        role: claims.role,
      });
      if (admission.outcome === 'refused') return refusalPage(ctx, admission.reason);
      await openSession(ctx, deps, admission.user.id, admission.team.id);
    });
  }

  if (deps.productSignIn) deps.productSignIn.install(router, deps);
  return router;
}
