import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Where oidc-provider's token-endpoint error codes differ from RFC 6749 §5.2.
 *
 * oidc-provider answers a request that carries no client credentials, or a
 * Basic header with an empty secret, with `400 invalid_request`. RFC 6749
 * §5.2 says otherwise: "Client authentication failed (e.g., unknown client,
 * no client authentication included …)" is `401 invalid_client`, and a client
 * must not learn more from one failure than from another. These descriptions
 * are oidc-provider's own (lib/shared/client_auth.js).
 */
const MISSING_CREDENTIALS = new Set([
  'no client authentication mechanism provided',
  'client_secret must be provided in the Authorization header',
]);

/**
 * RFC 6749 §5.2: "unauthorized_client: The authenticated client is not
 * authorized to use this authorization grant type." oidc-provider says
 * invalid_request with this description.
 */
const GRANT_NOT_ALLOWED = 'requested grant type is not allowed for this client';

export async function rfc6749TokenErrors(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (ctx.status !== 400 || body?.error !== 'invalid_request') return;
  if (body.error_description === GRANT_NOT_ALLOWED) {
    ctx.body = { ...body, error: 'unauthorized_client' };
    return;
  }
  if (!MISSING_CREDENTIALS.has(body.error_description ?? '')) return;

  ctx.status = 401;
  ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
  if (ctx.get('authorization')) {
    // RFC 6749 §5.2: a 401 for a request that used the Authorization header names the scheme.
    ctx.set(
      'WWW-Authenticate',
      `Basic realm="${ctx.oidc.provider.issuer}", error="invalid_client", error_description="client authentication failed"`,
    );
  }
}
