import type Provider from 'oidc-provider';
import { oauthGuard, refuseThrottledAddress, type OAuthLimits } from '../oauth-guard.js';
import { clientAuthenticatingRoutes } from '../client-auth-routes.js';

/*
 * Why: oidc-provider has no brute-force protection; a client_id or source
 * address that fails client authentication too often must be refused (429)
 * before another secret is checked, and every 429 answers docs/contract.md's
 * one body `{"error":"rate_limit_exceeded","retry_after":N}`.
 * Changes: around oidc-provider lib/shared/client_auth.js (`authenticateClient`)
 * on every route that authenticates clients (token, introspection, revocation,
 * and any turned on later): a throttled address is answered before the
 * provider runs; each `invalid_client` it answers is counted.
 */
export function installClientAuthThrottle(provider: Provider, deps: { readonly limits: OAuthLimits }): void {
  const routes = clientAuthenticatingRoutes(provider);
  provider.use(refuseThrottledAddress(deps.limits, routes));
  provider.use(oauthGuard(deps.limits, routes));
}
