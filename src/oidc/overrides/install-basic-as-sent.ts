import type Provider from 'oidc-provider';
import { basicAsSent } from '../oauth-guard.js';
import { clientAuthenticatingRoutes } from '../client-auth-routes.js';

/*
 * Why: RFC 6749 §2.3.1 form-encodes HTTP Basic client credentials, but curl -u
 * and authlib send them raw; oidc-provider refuses a raw `%` and reads a raw
 * `+` as a space.
 * Changes: the Authorization header oidc-provider lib/shared/client_auth.js
 * (`decodeAuthToken`) reads: a part that is not valid form-encoding is passed
 * on encoded, and the secret as sent is kept for the secret comparison.
 */
export function installBasicAsSent(provider: Provider): void {
  provider.use(basicAsSent(clientAuthenticatingRoutes(provider)));
}
