import type { KoaContextWithOIDC } from 'oidc-provider';
import { noteAuthFailure } from '../observability/auth-failure-reasons.js';

/** The routes whose `invalid_request` answers are checked here (RFC 6749 §5.2, RFC 7662 §2.1, RFC 7009 §2.1). */
const CLIENT_AUTH_ROUTES = new Set(['token', 'introspection', 'revocation']);

/**
 * The request carries no client credentials: no client_id, no assertion and
 * no Authorization header, or a Basic header that names a client with an
 * empty secret. keyport's own reading of the parsed request, not of
 * oidc-provider's description.
 */
function carriesNoCredentials(ctx: KoaContextWithOIDC): boolean {
  const params = ctx.oidc?.params as { client_id?: unknown; client_assertion?: unknown } | undefined;
  if (!params || ctx.oidc.client || params.client_assertion !== undefined) return false;
  const header = ctx.get('authorization');
  if (!header) return params.client_id === undefined;
  if (!/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i > 0 && decoded.slice(i + 1) === '';
}

/**
 * Where oidc-provider's token-endpoint error codes differ from RFC 6749 §5.2.
 *
 * oidc-provider answers a request that carries no client credentials, or a
 * Basic header with an empty secret, with `400 invalid_request`. RFC 6749
 * §5.2 says otherwise: "Client authentication failed (e.g., unknown client,
 * no client authentication included …)" is `401 invalid_client`, and a client
 * must not learn more from one failure than from another.
 *
 * RFC 6749 §5.2: "unauthorized_client: The authenticated client is not
 * authorized to use this authorization grant type." oidc-provider says
 * invalid_request.
 */
export async function rfc6749TokenErrors(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (ctx.status !== 400 || body?.error !== 'invalid_request' || !CLIENT_AUTH_ROUTES.has(String(ctx.oidc?.route)))
    return;
  const grantType = (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type;
  if (
    ctx.oidc.route === 'token' &&
    typeof grantType === 'string' &&
    ctx.oidc.client?.grantTypeAllowed(grantType) === false
  ) {
    ctx.body = { ...body, error: 'unauthorized_client' };
    return;
  }
  if (!carriesNoCredentials(ctx)) return;

  noteAuthFailure(ctx.state, 'missing_credentials');
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
