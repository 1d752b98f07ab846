import Router from '@koa/router';
import { admitExternalPerson } from '../teams/external-people.js';
import { createHandoffVerifier } from './handoff.js';
import { refusalPage } from './refusals.js';
import { signInAdmitted } from './admitted.js';
import type { ExternalSignInDeps } from './external-sign-in-deps.js';

/** The `oidc_payloads` type of a spent hand-off id. */
const SPENT_HANDOFF = 'DashboardHandoff';

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
      await signInAdmitted(ctx, deps, admission, 'handoff');
    });
  }

  if (deps.productSignIn) deps.productSignIn.install(router, deps);
  return router;
}
