import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { chargeAuthenticatedClient, type OAuthLimits } from './oauth-guard.js';
import { refuseUnlistedAddress } from './client-address.js';

type OidcClient = InstanceType<Provider['Client']>;

/**
 * Runs once a client has proven who it is (secret or assertion), before the
 * endpoint does any work: refuses an address the key's allowlist does not name, charges its plan budget, and gives a
 * client_credentials request without `scope` every scope the client was
 * registered with, as Auth0 and Keycloak do (openid-client's
 * clientCredentialsGrant and simple-oauth2 send none by default).
 */
export async function clientAuthenticated(limits: OAuthLimits, client: OidcClient): Promise<void> {
  refuseUnlistedAddress(limits, client);
  await chargeAuthenticatedClient(limits, client);
  const ctx = Provider.ctx as KoaContextWithOIDC | undefined;
  const params = ctx?.oidc?.params as { grant_type?: unknown; scope?: unknown } | undefined;
  if (ctx?.oidc.route === 'token' && params?.grant_type === 'client_credentials' && !params.scope && client.scope)
    params.scope = client.scope;
}
