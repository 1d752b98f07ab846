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

/**
 * Noted by keyport's own check at the point it refuses a client (the client
 * loader, the secret comparison, the assertion checks, the missing-credentials
 * rewrite); the request log reads it from ctx.state when the answer is
 * `401 invalid_client`. Never derived from oidc-provider's English messages.
 */
export function noteAuthFailure(state: Record<string, unknown> | undefined, reason: AuthFailureReason): void {
  if (state) state.authFailureReason = reason;
}

/** What keyport's checks noted for this request, if anything. */
export function notedAuthFailure(state: Record<string, unknown> | undefined): AuthFailureReason | undefined {
  return state?.authFailureReason as AuthFailureReason | undefined;
}
