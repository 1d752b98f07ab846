import type { Config } from '../config.js';
import { hasApiAccess, isValid, type ClientRecord } from '../clients/client.js';
import { hasValidChecksum, keyDigest, looksLikeCurrentKey } from '../clients/secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { UsageRecorder } from '../clients/usage.js';
import { createBatcher } from '../db/batch.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import { currentScope } from '../oidc/current-scopes.js';
import type { KeyUsage, UsageOutcome } from './key-usage.js';

/** CONTRACT.md, `/keys/verify`: the closed set of answers. */
export type VerifyCode = 'VALID' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'RATE_LIMITED' | 'USAGE_EXCEEDED' | 'INSUFFICIENT_SCOPE' | 'NO_API_ACCESS';

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
    };

export interface VerifyRequest {
  readonly key: string;
  readonly cost: number;
  readonly scopes: readonly string[];
  /** The API caller's address, as the resource server saw it. */
  readonly ip?: string;
}

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
export function createKeyVerifier(deps: { config: Config; clients: ClientStore; plans: PlanLimits; usage: UsageRecorder; keyUsage: KeyUsage; findAccessToken: FindAccessToken }): KeyVerifier {
  const { config, clients, plans, usage, keyUsage, findAccessToken } = deps;
  const byDigest = createBatcher((digests: readonly string[]) => clients.findByKeyDigest(digests));

  const answer = (client: ClientRecord, code: Exclude<VerifyCode, 'NOT_FOUND'>, scopes: readonly string[], extra: { ratelimit?: RateLimitState; credits?: number; retryAfter?: number } = {}): VerifyResult => ({
    valid: code === 'VALID',
    code,
    client_id: client.clientId,
    team_id: client.teamId,
    environment: client.environment,
    scopes,
    name: client.name,
    expires_at: client.expiresAt === null ? null : new Date(client.expiresAt * 1000).toISOString(),
    ratelimit: extra.ratelimit ?? null,
    credits: extra.credits !== undefined ? { remaining: extra.credits } : client.credits ? { remaining: client.credits.remaining } : null,
    ...(extra.retryAfter !== undefined ? { retry_after: extra.retryAfter } : {}),
  });

  /** The key's client and the scopes it holds now; undefined when nothing matches. */
  async function find(key: string): Promise<{ client: ClientRecord; scopes: readonly string[] } | undefined> {
    // A key of the current format whose checksum fails is a typo or made up: no query.
    if (looksLikeCurrentKey(key) && !hasValidChecksum(key)) return undefined;
    const client = await byDigest(keyDigest(key));
    if (client) return client.kind === 'service_account' ? { client, scopes: client.scopes ?? config.defaultScopes } : undefined;
    const token = await findAccessToken(key);
    if (!token) return undefined;
    const owner = await clients.findById(token.clientId);
    if (!owner) return undefined;
    const held = [...(owner.scopes ?? config.defaultScopes)];
    return { client: owner, scopes: currentScope(token.scope, held.join(' ')).split(' ').filter(Boolean) };
  }

  return {
    async verify({ key, cost, scopes: required, ip }) {
      const found = await find(key);
      if (!found) return { valid: false, code: 'NOT_FOUND' };
      const { client, scopes } = found;
      const now = Math.floor(Date.now() / 1000);
      const count = (outcome: UsageOutcome) => keyUsage.record(client.clientId, outcome, ip);

      if (client.revokedAt !== null) return answer(client, 'REVOKED', scopes);
      if (!isValid(client, now)) return answer(client, 'EXPIRED', scopes);
      if (!hasApiAccess(client, config.plans)) return answer(client, 'NO_API_ACCESS', scopes);
      if (!required.every((s) => scopes.includes(s))) {
        count('insufficient_scope');
        return answer(client, 'INSUFFICIENT_SCOPE', scopes);
      }

      const verdict = await plans.consume(client.clientId, plans.limitsFor({ plan: client.teamPlan, environment: client.environment, kind: client.kind }), cost);
      const ratelimit = {
        limit: Number(verdict.headers['X-RateLimit-Limit']),
        remaining: Number(verdict.headers['X-RateLimit-Remaining']),
        reset: Number(verdict.headers['X-RateLimit-Reset']),
      };
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
      return answer(client, 'VALID', scopes, { ratelimit, credits });
    },
  };
}
