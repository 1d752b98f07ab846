import type Koa from 'koa';

/**
 * Why a client authentication failed: a closed set, for the log line and
 * the `keyport_client_auth_failures_total` metric. The client is told only
 * `invalid_client` (RFC 6749 §5.2); never a secret or an assertion here.
 */
export const AUTH_FAILURE_REASONS = [
  'missing_credentials',
  'unknown_client',
  'client_revoked',
  'client_expired',
  'wrong_secret',
  'wrong_auth_method',
  'assertion_expired',
  'assertion_audience',
  'assertion_signature',
  'assertion_replayed',
  'assertion_lifetime',
  'assertion_kid',
  'assertion_invalid',
  'other',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Set by the client loader when the client_id names a revoked or expired key (it answers "not found" to oidc-provider). */
export function noteInvalidClient(
  state: Record<string, unknown> | undefined,
  reason: 'client_revoked' | 'client_expired',
): void {
  if (state) state.invalidClientReason = reason;
}

/** From oidc-provider's error detail (and what the loader noted), one reason of the closed set. */
export function authFailureReason(ctx: Koa.Context, detail: string | undefined): AuthFailureReason {
  const d = detail ?? '';
  if (/not found|invalid client_id/i.test(d))
    return (ctx.state.invalidClientReason as AuthFailureReason | undefined) ?? 'unknown_client';
  if (/no client authentication mechanism|must be provided/i.test(d)) return 'missing_credentials';
  if (/authentication method|not registered for|token_endpoint_auth_method/i.test(d)) return 'wrong_auth_method';
  if (/secret/i.test(d)) return 'wrong_secret';
  if (/used once/i.test(d)) return 'assertion_replayed';
  if (/jwt expired|expiration/i.test(d)) return 'assertion_expired';
  if (/audience|\baud\b/i.test(d)) return 'assertion_audience';
  if (/must expire within|issued in the future|not active yet/i.test(d)) return 'assertion_lifetime';
  if (/no matching key|kid/i.test(d)) return 'assertion_kid';
  if (/signature/i.test(d)) return 'assertion_signature';
  if (/assertion|jwt|jti|iss|alg/i.test(d)) return 'assertion_invalid';
  return 'other';
}
