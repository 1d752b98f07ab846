import type Provider from 'oidc-provider';

/**
 * oidc-provider's routes that authenticate clients (RFC 6749 §2.3). Which of
 * them exist depends on the features keyport turns on; the paths come from
 * the provider itself, so a route turned on later is throttled too.
 */
const CLIENT_AUTHENTICATING_ROUTES = [
  'token',
  'introspection',
  'revocation',
  'pushed_authorization_request',
  'device_authorization',
  'backchannel_authentication',
] as const;

/** Path → route name (as in logs and metrics, `oidc:<name>`), for the routes this provider serves. */
export function clientAuthenticatingRoutes(provider: Provider): ReadonlyMap<string, string> {
  const routes = new Map<string, string>();
  for (const name of CLIENT_AUTHENTICATING_ROUTES) {
    try {
      routes.set(provider.pathFor(name), `oidc:${name}`);
    } catch {
      // Not served: the feature is off.
    }
  }
  return routes;
}

export function clientAuthenticatingPaths(provider: Provider): ReadonlySet<string> {
  return new Set(clientAuthenticatingRoutes(provider).keys());
}
