import type Provider from 'oidc-provider';
import { rfc6749TokenErrors } from '../rfc6749-token-errors.js';

/*
 * Why: RFC 6749 §5.2 names the error codes of the token endpoint, and
 * oidc-provider differs in two places: a request without client credentials
 * (or a Basic header with an empty secret) answers `400 invalid_request`
 * where §5.2 says `401 invalid_client`, and a grant the client may not use
 * answers `invalid_request` where §5.2 says `unauthorized_client`.
 * Changes: the answers of oidc-provider lib/shared/client_auth.js
 * (`authenticateClient`, "no client authentication mechanism provided") and
 * lib/actions/token.js (grant type allowed check).
 */
export function installTokenErrorWording(provider: Provider): void {
  provider.use(rfc6749TokenErrors);
}
