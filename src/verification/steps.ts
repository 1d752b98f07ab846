import { allowsAddress } from '../clients/allowed-ips.js';
import { hasApiAccess } from '../clients/client.js';
import { missingPermissions } from '../clients/permissions.js';
import type { KeyUsage } from '../clients/key-usage.js';
import type { ClientStore } from '../clients/store.js';
import type { UsageRecorder } from '../clients/usage.js';
import type { Config } from '../config.js';
import type { LimitVerdict, PlanLimits } from '../limits/plan-limits.js';
import {
  LEASE_MAX_MS,
  MIN_LEASE_MS,
  type FoundKey,
  type Lease,
  type RateLimitState,
  type VerifyOutcome,
} from './outcome.js';

/*
 * The checks of the pipeline, each a plain function of (deps, verification):
 * it answers with an outcome, which ends the verification, or with
 * `undefined`, and the next step runs. A step that may wait returns a
 * promise only when it does (the runner awaits nothing else), so the hot
 * path pays for the queries it makes and no more.
 */

/** What one verification asks. */
export interface VerifyRequest {
  readonly key: string;
  readonly cost: number;
  readonly scopes: readonly string[];
  /** Permissions (`resource:action`) the call needs (issue 28 item 2); none: no check. */
  readonly permissions?: readonly string[];
  /** The API caller's address, as the resource server saw it. */
  /** The API caller's address, as the resource server saw it (the resource server's own when it sent none). */
  readonly ip?: string;
  /** Calls the guard would like to allow on its own (a lease); 0 for none. */
  readonly lease?: number;
  /** Calls the guard allowed from its previous lease of this key: counted in the key's usage. */
  readonly leased_calls?: number;
}

/** One verification in progress: the request, the key found, and what the spending steps learnt. */
export interface Verification {
  readonly request: VerifyRequest;
  readonly key: FoundKey;
  /** Milliseconds since the epoch, read once. */
  readonly now: number;
  limits: readonly [number, number, number] | undefined;
  verdict: LimitVerdict | undefined;
  ratelimit: RateLimitState | null;
  credits: number | undefined;
  lease: Lease | undefined;
}

/** What the checks read: no store, no clock beyond the verification's `now`. */
export interface CheckDeps {
  readonly config: Pick<Config, 'plans'>;
}

/** What the spending steps use besides. */
export interface SpendDeps extends CheckDeps {
  readonly clients: ClientStore;
  readonly plans: PlanLimits;
  readonly usage: UsageRecorder;
  readonly keyUsage: KeyUsage;
}

export type StepAnswer = VerifyOutcome | undefined;
export type Step<D> = (deps: D, v: Verification) => StepAnswer | Promise<StepAnswer>;

export function startVerification(request: VerifyRequest, key: FoundKey, now: number): Verification {
  return {
    request,
    key,
    now,
    limits: undefined,
    verdict: undefined,
    ratelimit: null,
    credits: undefined,
    lease: undefined,
  };
}

/** Not a check: the calls a guard allowed from its previous lease were made, whatever this call comes to. */
export function countLeasedCalls(deps: SpendDeps, { key, request }: Verification): undefined {
  const calls = request.leased_calls ?? 0;
  if (calls === 0) return undefined;
  deps.keyUsage.record(key.client.clientId, 'valid', request.ip, undefined, calls);
  deps.usage.record(key.client.clientId, undefined, calls);
  return undefined;
}

/** Validity: a revoked key is refused, before anything else is said about it. */
export function checkRevoked(_deps: CheckDeps, { key }: Verification): StepAnswer {
  return key.client.revokedAt !== null ? { kind: 'revoked', key } : undefined;
}

/** Expiry: a key past its `expires_at` is refused. */
export function checkExpiry(_deps: CheckDeps, { key, now }: Verification): StepAnswer {
  const { expiresAt } = key.client;
  return expiresAt !== null && expiresAt <= Math.floor(now / 1000) ? { kind: 'expired', key } : undefined;
}

/** Plan access: a team whose plan has no API access (or was removed) may not use its keys. */
export function checkPlanAccess(deps: CheckDeps, { key }: Verification): StepAnswer {
  return hasApiAccess(key.client, deps.config.plans) ? undefined : { kind: 'no_api_access', key, ratelimit: null };
}

/** Address: a key with an allowlist is used only from an address it names (the request's `ip`). */
export function checkAllowedIp(_deps: CheckDeps, { key, request }: Verification): StepAnswer {
  return allowsAddress(key.client.allowedIps, request.ip)
    ? undefined
    : { kind: 'forbidden_ip', key, address: request.ip };
}

/** Scopes: every scope the call needs is one the key holds now. */
export function checkScopes(_deps: CheckDeps, { key, request }: Verification): StepAnswer {
  if (request.scopes.length === 0) return undefined;
  const missing = request.scopes.filter((s) => !key.scopes.includes(s));
  return missing.length === 0 ? undefined : { kind: 'insufficient_scope', key, missing, ratelimit: null };
}

/** Permissions: every permission the call needs is granted by the key's own or its roles' (wildcards count). */
export function checkPermissions(_deps: CheckDeps, { key, request }: Verification): StepAnswer {
  const needed = request.permissions ?? [];
  if (needed.length === 0) return undefined;
  const missing = missingPermissions(key.permissions, needed);
  return missing.length === 0 ? undefined : { kind: 'insufficient_permissions', key, missing, ratelimit: null };
}

/** Budget: `cost` calls of the plan's per-minute/hour/day budget, the same counters as the token endpoint's. */
export async function spendBudget(deps: SpendDeps, v: Verification): Promise<StepAnswer> {
  const { client } = v.key;
  v.limits = deps.plans.limitsFor({ plan: client.teamPlan, environment: client.environment, kind: client.kind });
  const verdict = await deps.plans.consume(counterOf(deps, client), v.limits, v.request.cost);
  v.verdict = verdict;
  v.ratelimit = rateLimitOf(verdict);
  return verdict.allowed
    ? undefined
    : { kind: 'rate_limited', key: v.key, ratelimit: v.ratelimit, retryAfter: verdict.retryAfter };
}

/** Credits: a key with credits spends `cost` of them; none left is USAGE_EXCEEDED. */
export function spendCredits(deps: SpendDeps, v: Verification): StepAnswer | Promise<StepAnswer> {
  return v.key.client.credits ? spendSomeCredits(deps, v) : undefined;
}

async function spendSomeCredits(deps: SpendDeps, v: Verification): Promise<StepAnswer> {
  v.credits = await deps.clients.spendCredits(v.key.client.clientId, v.request.cost, v.now);
  return v.credits === undefined ? { kind: 'usage_exceeded', key: v.key, ratelimit: v.ratelimit } : undefined;
}

/**
 * Lease: on request, a share of the budget spent now for the guard to
 * allow on its own: at most a quarter of what every window has left (so
 * near the limit every call comes back here and the count is exact), and
 * never past the shortest window's end. API keys and OAuth access tokens
 * alike (a token spends its client's budget, and its revocation is pushed
 * to guards as its client's change); never for keys with credits (unused
 * calls would be credits lost). It never refuses the call.
 */
export function grantLease(deps: SpendDeps, v: Verification): undefined | Promise<undefined> {
  const wanted = v.request.lease ?? 0;
  if (wanted === 0 || v.key.client.credits || !v.verdict || !v.limits) return undefined;
  const calls = Math.min(wanted, Math.floor(v.verdict.room / 4));
  // Never past the key's (or the token's) expiry or its grace period's end: the guard would allow a key keyport no longer does.
  const left = v.key.validUntilMs === null ? LEASE_MAX_MS : v.key.validUntilMs - v.now;
  return calls < 1 || left < MIN_LEASE_MS ? undefined : spendLease(deps, v, v.limits, calls, left);
}

async function spendLease(
  deps: SpendDeps,
  v: Verification,
  limits: readonly [number, number, number],
  calls: number,
  leftMs: number,
): Promise<undefined> {
  // A team's budget: the lease is spent from the team's window, so the team's guards together stay within it.
  const verdict = await deps.plans.consume(counterOf(deps, v.key.client), limits, calls);
  if (!verdict.allowed) return undefined;
  v.lease = { calls, ttl_ms: Math.min(LEASE_MAX_MS, verdict.windowEndsInMs, leftMs) };
  v.ratelimit = rateLimitOf(verdict);
  return undefined;
}

/** The counters a key's calls go to: its own, or its team's (plan `limit_per: team`). */
export function counterOf(
  deps: SpendDeps,
  client: { clientId: string; teamId: number | null; teamPlan?: string; environment: string; kind: string },
): string {
  return deps.plans.counterOf({
    clientId: client.clientId,
    teamId: client.teamId,
    plan: client.teamPlan,
    environment: client.environment,
    kind: client.kind,
  });
}

export function rateLimitOf(verdict: LimitVerdict): RateLimitState {
  return {
    limit: Number(verdict.headers['X-RateLimit-Limit']),
    remaining: Number(verdict.headers['X-RateLimit-Remaining']),
    reset: Number(verdict.headers['X-RateLimit-Reset']),
  };
}
