import type { Config } from '../config.js';
import { hasApiAccess, isValid, type ClientRecord } from '../clients/client.js';
import { hasValidChecksum, keyDigest, looksLikeCurrentKey } from '../clients/secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { UsageRecorder } from '../clients/usage.js';
import { createBatcher } from '../batch.js';
import type { LimitVerdict, PlanLimits } from '../limits/plan-limits.js';
import { currentScope } from '../clients/scopes.js';
import type { KeyUsage, UsageOutcome } from '../clients/key-usage.js';

/** docs/contract.md, `/keys/verify`: the closed set of answers. */
export type VerifyCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'EXPIRED'
  | 'REVOKED'
  | 'RATE_LIMITED'
  | 'USAGE_EXCEEDED'
  | 'INSUFFICIENT_SCOPE'
  | 'NO_API_ACCESS';

export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  readonly reset: number;
}

/** The answer: `valid` only for VALID; the key's details once it is known to exist. */
export type VerifyResult =
  | { readonly valid: false; readonly code: 'NOT_FOUND' }
  | {
      readonly valid: boolean;
      readonly code: Exclude<VerifyCode, 'NOT_FOUND'>;
      readonly client_id: string;
      readonly team_id: number | null;
      readonly environment: string;
      readonly scopes: readonly string[];
      readonly name: string | null;
      readonly expires_at: string | null;
      readonly ratelimit: RateLimitState | null;
      readonly credits: { readonly remaining: number } | null;
      /** Seconds until the exceeded window has room (RATE_LIMITED only). */
      readonly retry_after?: number;
      /** Calls the guard may allow on its own, already spent of the budget, until `ttl_ms` (VALID only). */
      readonly lease?: Lease;
    };

/** A share of a key's budget handed to a guard: `calls` calls, within `ttl_ms` milliseconds. */
export interface Lease {
  readonly calls: number;
  readonly ttl_ms: number;
}

/** A lease never outlives this, so a change made by hand in the table (not pushed to guards) is felt within it. */
export const LEASE_MAX_MS = 5000;

export interface VerifyRequest {
  readonly key: string;
  readonly cost: number;
  readonly scopes: readonly string[];
  /** The API caller's address, as the resource server saw it. */
  readonly ip?: string;
  /** Calls the guard would like to allow on its own (a lease); 0 for none. */
  readonly lease?: number;
  /** Calls the guard allowed from its previous lease of this key: counted in the key's usage. */
  readonly leased_calls?: number;
}

const rateLimitOf = (verdict: LimitVerdict): RateLimitState => ({
  limit: Number(verdict.headers['X-RateLimit-Limit']),
  remaining: Number(verdict.headers['X-RateLimit-Remaining']),
  reset: Number(verdict.headers['X-RateLimit-Reset']),
});

/** An OAuth access token the key may be instead: its client and scope, when it is valid. */
export type FindAccessToken = (value: string) => Promise<{ clientId: string; scope?: string } | undefined>;

export interface KeyVerifier {
  verify(request: VerifyRequest): Promise<VerifyResult>;
}

/**
 * Verifies a key used directly against the API (or an OAuth access token),
 * in one round trip: found by the digest of the whole key (no bcrypt), then
 * the checks in the order an API needs them, then one API call spent of the
 * plan budget (the same counters as the token endpoint) and of the credits.
 */
export function createKeyVerifier(deps: {
  config: Config;
  clients: ClientStore;
  plans: PlanLimits;
  usage: UsageRecorder;
  keyUsage: KeyUsage;
  findAccessToken: FindAccessToken;
}): KeyVerifier {
  const { config, clients, plans, usage, keyUsage, findAccessToken } = deps;
  const byDigest = createBatcher((digests: readonly string[]) => clients.findByKeyDigest(digests));

  const answer = (
    client: ClientRecord,
    code: Exclude<VerifyCode, 'NOT_FOUND'>,
    scopes: readonly string[],
    extra: { ratelimit?: RateLimitState; credits?: number; retryAfter?: number; lease?: Lease } = {},
  ): VerifyResult => ({
    valid: code === 'VALID',
    code,
    client_id: client.clientId,
    team_id: client.teamId,
    environment: client.environment,
    scopes,
    name: client.name,
    expires_at: client.expiresAt === null ? null : new Date(client.expiresAt * 1000).toISOString(),
    ratelimit: extra.ratelimit ?? null,
    credits:
      extra.credits !== undefined
        ? { remaining: extra.credits }
        : client.credits
          ? { remaining: client.credits.remaining }
          : null,
    ...(extra.retryAfter !== undefined ? { retry_after: extra.retryAfter } : {}),
    ...(extra.lease ? { lease: extra.lease } : {}),
  });

  /** The key's client and the scopes it holds now (`isKey`: an API key, not an access token); undefined when nothing matches. */
  async function find(
    key: string,
  ): Promise<{ client: ClientRecord; scopes: readonly string[]; isKey: boolean } | undefined> {
    // A key of the current format whose checksum fails is a typo or made up: no query.
    if (looksLikeCurrentKey(key) && !hasValidChecksum(key)) return undefined;
    const client = await byDigest(keyDigest(key));
    if (client)
      return client.kind === 'service_account'
        ? { client, scopes: client.scopes ?? config.defaultScopes, isKey: true }
        : undefined;
    const token = await findAccessToken(key);
    if (!token) return undefined;
    const owner = await clients.findById(token.clientId);
    if (!owner) return undefined;
    const held = [...(owner.scopes ?? config.defaultScopes)];
    return {
      client: owner,
      scopes: currentScope(token.scope, held.join(' ')).split(' ').filter(Boolean),
      isKey: false,
    };
  }

  /**
   * Spends a lease of the budget on top of the call: at most a quarter of
   * what every window has left (so near the limit every call comes back
   * here and the count is exact), and never past the shortest window's end.
   * API keys only: an access token's revocation is not pushed to guards.
   * Keys with credits never get one (unused calls would be credits lost).
   */
  async function leaseFor(
    client: ClientRecord,
    limits: readonly [number, number, number],
    wanted: number,
    room: number,
  ): Promise<{ lease: Lease; ratelimit: RateLimitState } | undefined> {
    const calls = Math.min(wanted, Math.floor(room / 4));
    if (calls < 1) return undefined;
    const verdict = await plans.consume(client.clientId, limits, calls);
    if (!verdict.allowed) return undefined;
    return {
      lease: { calls, ttl_ms: Math.min(LEASE_MAX_MS, verdict.windowEndsInMs) },
      ratelimit: rateLimitOf(verdict),
    };
  }

  return {
    async verify({ key, cost, scopes: required, ip, lease: wanted = 0, leased_calls: leasedCalls = 0 }) {
      const found = await find(key);
      if (!found) return { valid: false, code: 'NOT_FOUND' };
      const { client, scopes, isKey } = found;
      if (leasedCalls > 0) {
        keyUsage.record(client.clientId, 'valid', ip, undefined, leasedCalls);
        usage.record(client.clientId, undefined, leasedCalls);
      }
      const now = Math.floor(Date.now() / 1000);
      const count = (outcome: UsageOutcome) => keyUsage.record(client.clientId, outcome, ip);

      if (client.revokedAt !== null) return answer(client, 'REVOKED', scopes);
      if (!isValid(client, now)) return answer(client, 'EXPIRED', scopes);
      if (!hasApiAccess(client, config.plans)) return answer(client, 'NO_API_ACCESS', scopes);
      if (!required.every((s) => scopes.includes(s))) {
        count('insufficient_scope');
        return answer(client, 'INSUFFICIENT_SCOPE', scopes);
      }

      const limits = plans.limitsFor({ plan: client.teamPlan, environment: client.environment, kind: client.kind });
      const verdict = await plans.consume(client.clientId, limits, cost);
      const ratelimit = rateLimitOf(verdict);
      if (!verdict.allowed) {
        count('rate_limited');
        return answer(client, 'RATE_LIMITED', scopes, { ratelimit, retryAfter: verdict.retryAfter });
      }
      let credits: number | undefined;
      if (client.credits) {
        credits = await clients.spendCredits(client.clientId, cost, Date.now());
        if (credits === undefined) {
          count('usage_exceeded');
          return answer(client, 'USAGE_EXCEEDED', scopes, { ratelimit, credits: 0 });
        }
      }
      count('valid');
      usage.record(client.clientId);
      const leased =
        wanted > 0 && isKey && !client.credits ? await leaseFor(client, limits, wanted, verdict.room) : undefined;
      return answer(client, 'VALID', scopes, {
        ratelimit: leased?.ratelimit ?? ratelimit,
        credits,
        lease: leased?.lease,
      });
    },
  };
}
