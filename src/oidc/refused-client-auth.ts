import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuthFailureReason } from '../observability/auth-failure-reasons.js';

type OidcClient = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/** The method a request used, by what it carries (RFC 6749 §2.3.1, RFC 7523 §2.2). */
function methodUsed(ctx: KoaContextWithOIDC): string {
  const params = ctx.oidc.params as { client_assertion?: unknown; client_secret?: unknown } | undefined;
  if (params?.client_assertion !== undefined) return 'private_key_jwt';
  if (/^basic /i.test(ctx.get('authorization'))) return 'client_secret_basic';
  if (params?.client_secret !== undefined) return 'client_secret_post';
  return 'none';
}

/**
 * Why keyport would refuse this client_assertion, found by keyport's own
 * reading of it (the signature is oidc-provider's to verify): a claim the
 * RFC 7523 §3 rules refuse is named; an assertion whose claims all hold was
 * refused for its key or signature.
 */
function assertionReason(
  ctx: KoaContextWithOIDC,
  client: OidcClient,
  assertion: string,
  tolerance: number,
): AuthFailureReason {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    claims = decodeJwt(assertion);
  } catch {
    return 'assertion_invalid';
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || !claims.jti || claims.iss !== client.clientId) return 'assertion_invalid';
  const accepted = ctx.oidc.clientJwtAuthExpectedAudience();
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((aud) => typeof aud === 'string' && accepted.has(aud))) return 'assertion_audience';
  if (claims.exp + tolerance <= now) return 'assertion_expired';
  if (typeof claims.nbf === 'number' && claims.nbf > now + tolerance) return 'assertion_lifetime';
  const keys = (client.metadata() as { jwks?: { keys?: Array<{ kid?: string }> } }).jwks?.keys ?? [];
  if (header.kid !== undefined && !keys.some((key) => key.kid === header.kid)) return 'assertion_kid';
  return 'assertion_signature';
}

/**
 * For an `invalid_client` no keyport check noted a reason for (oidc-provider
 * decided it): the client used another method than it registered, or its
 * assertion fails one of keyport's readings above.
 */
export function refusedClientAuthReason(ctx: KoaContextWithOIDC, clockToleranceSeconds: number): AuthFailureReason {
  const client = ctx.oidc?.client;
  if (!client) return 'other';
  const used = methodUsed(ctx);
  if (used !== client.clientAuthMethod) return 'wrong_auth_method';
  const assertion = (ctx.oidc.params as { client_assertion?: unknown } | undefined)?.client_assertion;
  return typeof assertion === 'string' ? assertionReason(ctx, client, assertion, clockToleranceSeconds) : 'other';
}
