/** The resource indicator (RFC 8707) of the customer-facing API that keyport's tokens are for. */
export const API_RESOURCE = 'urn:keyport:api';

/** The OpenID Connect scopes that userinfo answers for; an API token carries those the person granted. */
export const USERINFO_SCOPES = ['openid', 'profile', 'email'] as const;

/**
 * Whether a token is meant for APIs: issued for the API resource (its `aud`),
 * or carrying an API scope. A token for OpenID Connect scopes only is for
 * userinfo (a person signing in to an app), and no API should take it.
 */
export function isForApis(audience: unknown, scope: string | undefined, catalogue: Readonly<Record<string, string>>) {
  const audiences = Array.isArray(audience) ? audience : [audience];
  return (
    audiences.some((a) => a === API_RESOURCE || (typeof a === 'string' && a.startsWith('urn:keyport:rs:'))) ||
    (scope ?? '').split(' ').some((s) => s !== '' && Object.hasOwn(catalogue, s))
  );
}
