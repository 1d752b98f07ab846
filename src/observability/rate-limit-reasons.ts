/**
 * Why a request was answered 429: a closed set, the label of the
 * `keyport_rate_limit_rejections_total` metric (README, Metrics). A 429
 * with no reason noted counts as `plan`.
 */
export const RATE_LIMIT_REASONS = [
  'plan',
  'resource_server_rate_limit',
  'auth_failures',
  'bcrypt_busy',
  'sign_in',
  'authorization_requests',
  'share_reveals',
] as const;
export type RateLimitReason = (typeof RATE_LIMIT_REASONS)[number];

/** Noted where keyport refuses a request for a limit; the request log reads it when the answer is 429. */
export function noteRateLimit(state: object | undefined, reason: RateLimitReason): void {
  if (state) (state as { limitReason?: RateLimitReason }).limitReason = reason;
}

/** What was noted for this request; `plan` when nothing was. */
export function notedRateLimit(state: object | undefined): RateLimitReason {
  return (state as { limitReason?: RateLimitReason } | undefined)?.limitReason ?? 'plan';
}
