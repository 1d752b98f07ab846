import type Provider from 'oidc-provider';
import { limitAuthorizationRequests } from '../authorization-requests.js';

/*
 * Why: each anonymous GET of the authorization endpoint makes oidc-provider
 * store an interaction; one address must not fill the database with them.
 * Changes: oidc-provider lib/actions/authorization (its interaction save) is
 * not reached past 60 requests per minute from one address: 429 first.
 */
export function installAuthorizationRequestLimit(provider: Provider, deps: { readonly ipv6Prefix: number }): void {
  provider.use(limitAuthorizationRequests(provider.pathFor('authorization'), deps.ipv6Prefix));
}
