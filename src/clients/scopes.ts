/** Scopes of OpenID Connect itself, which no client registration lists. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;

/**
 * The part of a token's scope that its client still holds: removing a scope
 * from a key takes it from the tokens already issued to it, at once, the
 * way a person's role is judged at each call.
 */
export function currentScope(tokenScope: string | undefined, clientScope: string | undefined): string {
  const held = new Set([...(clientScope ?? '').split(' '), ...OIDC_SCOPES]);
  return (tokenScope ?? '')
    .split(' ')
    .filter((s) => s && held.has(s))
    .join(' ');
}
