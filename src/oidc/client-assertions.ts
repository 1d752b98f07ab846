import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { noteAuthFailure, type AuthFailureReason } from '../observability/auth-failure-reasons.js';

/** How long an assertion may live and how far clocks may disagree (config: max_assertion_lifetime_seconds, clock_skew_seconds). */
export interface AssertionLimits {
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
}

/** Header parameters that point at a key other than the registered one. */
const FOREIGN_KEY_HEADERS = ['jwk', 'jku', 'x5u'] as const;

interface AssertionClaims {
  readonly aud?: string | string[];
  readonly exp?: number;
  readonly iat?: number;
}

/**
 * The checks oidc-provider leaves to configuration
 * (`assertJwtClientAuthClaimsAndHeader`), after it has verified the
 * signature with the registered key and checked iss, exp, jti and that aud
 * names this server. keyport adds what the careful servers (Keycloak, Auth0,
 * the FAPI 2.0 conformance suite's negative tests) enforce:
 * - every audience is this server: an array with anything else is refused;
 * - the assertion lives at most `maxLifetimeSeconds` (an hour by default, as
 *   authlib signs them) and was not issued in the future, give or take the
 *   clock skew; its jti is kept until it expires, so replay stays impossible;
 * - no header names another key (jwk, jku, x5u): the registered key is the only key.
 */
export async function assertClientAssertion(
  ctx: KoaContextWithOIDC,
  claims: AssertionClaims,
  header: Record<string, unknown>,
  limits: AssertionLimits,
): Promise<void> {
  const { maxLifetimeSeconds, clockSkewSeconds } = limits;
  for (const name of FOREIGN_KEY_HEADERS) {
    if (header[name] !== undefined)
      refuse(ctx, 'assertion_invalid', `the client_assertion header must not carry ${name}`);
  }

  const accepted = ctx.oidc.clientJwtAuthExpectedAudience();
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.every((aud) => typeof aud === 'string' && accepted.has(aud))) {
    refuse(ctx, 'assertion_audience', 'every audience (aud) of the client_assertion must be this server');
  }

  const now = Math.floor(Date.now() / 1000);
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > now + clockSkewSeconds)) {
    refuse(ctx, 'assertion_lifetime', 'the client_assertion was issued in the future (iat)');
  }
  const start = typeof claims.iat === 'number' ? claims.iat : now;
  if (
    typeof claims.exp !== 'number' ||
    claims.exp - start > maxLifetimeSeconds + (claims.iat === undefined ? clockSkewSeconds : 0)
  ) {
    refuse(ctx, 'assertion_lifetime', `the client_assertion must expire within ${maxLifetimeSeconds} seconds`);
  }
  // oidc-provider checks single use after this hook (lib/shared/jwt_client_auth.js): a refusal from here on is a replay.
  noteAuthFailure(ctx.state, 'assertion_replayed');
}

function refuse(ctx: KoaContextWithOIDC, reason: AuthFailureReason, description: string): never {
  noteAuthFailure(ctx.state, reason);
  throw new errors.InvalidClientAuth(description);
}
