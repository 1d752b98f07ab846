import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** Clock skew allowed between keyport and its clients, for exp, iat and nbf. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** RFC 7523 §3: keyport accepts assertions that live at most five minutes. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

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
 * - the assertion lives at most five minutes and was not issued in the future;
 * - no header names another key (jwk, jku, x5u): the registered key is the only key.
 */
export async function assertClientAssertion(ctx: KoaContextWithOIDC, claims: AssertionClaims, header: Record<string, unknown>): Promise<void> {
  for (const name of FOREIGN_KEY_HEADERS) {
    if (header[name] !== undefined) throw new errors.InvalidClientAuth(`the client_assertion header must not carry ${name}`);
  }

  const accepted = ctx.oidc.clientJwtAuthExpectedAudience();
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.every((aud) => typeof aud === 'string' && accepted.has(aud))) {
    throw new errors.InvalidClientAuth('every audience (aud) of the client_assertion must be this server');
  }

  const now = Math.floor(Date.now() / 1000);
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > now + CLOCK_TOLERANCE_SECONDS)) {
    throw new errors.InvalidClientAuth('the client_assertion was issued in the future (iat)');
  }
  const start = typeof claims.iat === 'number' ? claims.iat : now;
  if (typeof claims.exp !== 'number' || claims.exp - start > MAX_ASSERTION_LIFETIME_SECONDS + (claims.iat === undefined ? CLOCK_TOLERANCE_SECONDS : 0)) {
    throw new errors.InvalidClientAuth(`the client_assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`);
  }
}
