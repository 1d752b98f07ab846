import type Provider from 'oidc-provider';

/** The paths where clients authenticate (today: a fixed list). */
export function clientAuthenticatingPaths(_provider: Provider): ReadonlySet<string> {
  return new Set(['/token', '/token/introspection', '/token/revocation']);
}
