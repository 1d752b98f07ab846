import { addressRefusal } from '../clients/allowed-ips.js';
import { assertNever } from '../errors.js';
import type { FoundKey, Lease, RateLimitState, VerifyOutcome } from './outcome.js';

/** docs/contract.md, `/keys/verify`: the closed set of answers. */
export type VerifyCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'EXPIRED'
  | 'REVOKED'
  | 'RATE_LIMITED'
  | 'USAGE_EXCEEDED'
  | 'INSUFFICIENT_SCOPE'
  | 'INSUFFICIENT_PERMISSIONS'
  | 'FORBIDDEN_IP'
  | 'NO_API_ACCESS';

/** The `/keys/verify` body: `valid` only for VALID; the key's details once it is known to exist. */
export type VerifyAnswer =
  | { readonly valid: false; readonly code: 'NOT_FOUND' }
  | {
      readonly valid: boolean;
      readonly code: Exclude<VerifyCode, 'NOT_FOUND'>;
      readonly client_id: string;
      readonly team_id: number | null;
      readonly environment: string;
      readonly scopes: readonly string[];
      /** What the key may do now: its own permissions and its roles' (issue 28 item 2). */
      readonly permissions: readonly string[];
      readonly name: string | null;
      readonly expires_at: string | null;
      readonly ratelimit: RateLimitState | null;
      readonly credits: { readonly remaining: number } | null;
      /** The key's own metadata (VALID only), null when it has none. */
      readonly meta?: Readonly<Record<string, unknown>> | null;
      /** FORBIDDEN_IP only: which address was refused, in words. */
      readonly message?: string;
      /** The key's allowlist (VALID only, when it has one): a guard's lease serves calls from the verified address only. */
      readonly allowed_ips?: readonly string[];
      /** Seconds until the exceeded window has room again (RATE_LIMITED only). */
      readonly retry_after?: number;
      /** Calls the guard may allow on its own, already spent of the budget, until `ttl_ms` (VALID only). */
      readonly lease?: Lease;
    };

const NOT_FOUND: VerifyAnswer = Object.freeze({ valid: false, code: 'NOT_FOUND' });

/**
 * The one mapping from an outcome to the wire. Internal reasons (which
 * scopes were missing, why nothing was found) stay out: a resource server
 * learns the code and the key's public details, nothing about keyport's checks.
 */
export function verifyAnswer(outcome: VerifyOutcome): VerifyAnswer {
  switch (outcome.kind) {
    case 'not_found':
      return NOT_FOUND;
    case 'revoked':
      return details(outcome.key, 'REVOKED', null);
    case 'expired':
      return details(outcome.key, 'EXPIRED', null);
    case 'no_api_access':
      return details(outcome.key, 'NO_API_ACCESS', outcome.ratelimit);
    case 'forbidden_ip':
      return details(
        outcome.key,
        'FORBIDDEN_IP',
        null,
        undefined,
        undefined,
        undefined,
        addressRefusal(outcome.address),
      );
    case 'insufficient_scope':
      return details(outcome.key, 'INSUFFICIENT_SCOPE', outcome.ratelimit);
    case 'insufficient_permissions':
      return details(outcome.key, 'INSUFFICIENT_PERMISSIONS', outcome.ratelimit);
    case 'rate_limited':
      return details(outcome.key, 'RATE_LIMITED', outcome.ratelimit, undefined, outcome.retryAfter);
    case 'usage_exceeded':
      return details(outcome.key, 'USAGE_EXCEEDED', outcome.ratelimit, 0);
    case 'valid':
      return details(outcome.key, 'VALID', outcome.ratelimit, outcome.credits, undefined, outcome.lease);
    default:
      return assertNever(outcome);
  }
}

function details(
  { client, scopes, permissions }: FoundKey,
  code: Exclude<VerifyCode, 'NOT_FOUND'>,
  ratelimit: RateLimitState | null,
  credits?: number,
  retryAfter?: number,
  lease?: Lease,
  message?: string,
): VerifyAnswer {
  return {
    valid: code === 'VALID',
    code,
    client_id: client.clientId,
    team_id: client.teamId,
    environment: client.environment,
    scopes,
    permissions,
    name: client.name,
    expires_at: client.expiresAt === null ? null : new Date(client.expiresAt * 1000).toISOString(),
    ratelimit,
    // Credits left after this call when they were spent; otherwise as stored.
    credits:
      credits !== undefined ? { remaining: credits } : client.credits ? { remaining: client.credits.remaining } : null,
    ...(retryAfter !== undefined ? { retry_after: retryAfter } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(code === 'VALID' ? { meta: client.meta } : {}),
    ...(code === 'VALID' && client.allowedIps.length ? { allowed_ips: client.allowedIps } : {}),
    ...(lease ? { lease } : {}),
  };
}
