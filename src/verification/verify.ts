import type { ClientStore } from '../clients/store.js';
import type { KeyUsage } from '../clients/key-usage.js';
import type { UsageRecorder } from '../clients/usage.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import { createBatcher } from '../batch.js';
import { findKeyOnly, findKeyOrToken, type FindAccessToken, type FindDeps } from './find.js';
import type { VerifyOutcome } from './outcome.js';
import {
  checkAllowedIp,
  checkExpiry,
  checkPlanAccess,
  checkRevoked,
  checkPermissions,
  checkScopes,
  countLeasedCalls,
  grantLease,
  spendBudget,
  spendCredits,
  startVerification,
  type CheckDeps,
  type SpendDeps,
  type Step,
  type Verification,
  type VerifyRequest,
} from './steps.js';
import { usageOutcomeOf } from './usage-outcome.js';
import { withBudgetShown } from './budget-shown.js';
import type { LimitNotices } from '../events/limit-notices.js';
import type { RoleService } from '../clients/roles.js';

export type { FindAccessToken } from './find.js';
export type { VerifyRequest } from './steps.js';
export type { VerifyOutcome } from './outcome.js';

/**
 * `/keys/verify`: after the find steps (parse and checksum, find the key or
 * the access token), these, in this order. The order is the contract's: a
 * revoked key over its budget answers REVOKED and spends nothing; a key
 * lacking a scope spends nothing either; only a call that may be made
 * spends its budget, then its credits, then perhaps a lease.
 *
 * A new check is one more entry here and one more outcome in outcome.ts
 * (whose mappings then fail to compile until they name it). The address
 * allowlist goes after plan access, before anything is spent.
 */
const VERIFY_STEPS: readonly Step<SpendDeps>[] = [
  countLeasedCalls,
  checkRevoked,
  checkExpiry,
  checkPlanAccess,
  checkAllowedIp,
  checkScopes,
  checkPermissions,
  spendBudget,
  spendCredits,
  grantLease,
];

/**
 * RFC 7662 introspection of a raw key: the same checks, and nothing spent:
 * introspection looks at a key, it is not a call of the API (the
 * introspecting client is charged for it, by the OAuth guard).
 */
const INSPECT_STEPS: readonly Step<CheckDeps>[] = [checkRevoked, checkExpiry, checkPlanAccess];

export interface KeyVerifier {
  /** `/keys/verify`: the outcome of one API call made with `request.key`, its budget and credits spent, its usage counted. */
  verify(request: VerifyRequest): Promise<VerifyOutcome>;
}

export interface KeyInspector {
  /** RFC 7662: whether `key` is an API key that may be used now; nothing is spent or counted. */
  inspect(key: string): Promise<VerifyOutcome>;
}

/** Runs the steps in order; the first outcome ends it. Only a step that returned a promise is awaited. */
async function run<D>(steps: readonly Step<D>[], deps: D, v: Verification): Promise<VerifyOutcome> {
  for (const step of steps) {
    const answer = step(deps, v);
    const outcome = answer instanceof Promise ? await answer : answer;
    if (outcome !== undefined) return outcome;
  }
  return { kind: 'valid', key: v.key, ratelimit: v.ratelimit, credits: v.credits, lease: v.lease };
}

const NO_CALL: VerifyRequest = Object.freeze({ key: '', cost: 0, scopes: [] });

/**
 * Verifies a key used directly against the API (or an OAuth access token),
 * in one round trip: found by the digest of the whole key (no bcrypt),
 * then the steps above, then its usage counted by outcome.
 */
export function createKeyVerifier(deps: {
  config: Config;
  clients: ClientStore;
  plans: PlanLimits;
  usage: UsageRecorder;
  keyUsage: KeyUsage;
  findAccessToken: FindAccessToken;
  /** The key's roles, read at each verification (issue 28 item 2); absent: its own permissions only. */
  roles?: Pick<RoleService, 'effectivePermissions'>;
  clock?: Clock;
  /** `key.rate_limited` and `credits.low`: told of each refusal and spend, answered without waiting. */
  notices?: LimitNotices;
}): KeyVerifier {
  const { findAccessToken, clock = systemClock } = deps;
  const found: FindDeps = {
    config: deps.config,
    clients: deps.clients,
    byDigest: batchedByDigest(deps.clients),
    permissionsOf: deps.roles?.effectivePermissions,
  };
  const spend: SpendDeps = deps;

  return {
    async verify(request) {
      const key = await findKeyOrToken(found, findAccessToken, request.key);
      const outcome =
        key.kind === 'found'
          ? await withBudgetShown(spend, await run(VERIFY_STEPS, spend, startVerification(request, key, clock.now())))
          : key;
      if (outcome.kind === 'rate_limited') deps.notices?.rateLimited(outcome.key.client, outcome.ratelimit);
      else if (outcome.kind === 'valid' && outcome.credits !== undefined)
        deps.notices?.creditsSpent(outcome.key.client, outcome.credits);
      const counted = isLeaseRenewal(request, outcome) ? undefined : usageOutcomeOf(outcome);
      if (counted !== undefined && outcome.kind !== 'not_found') {
        deps.keyUsage.record(outcome.key.client.clientId, counted, request.ip);
        if (counted === 'valid') deps.usage.record(outcome.key.client.clientId);
      }
      return outcome;
    },
  };
}

/**
 * A guard renewing a busy key's lease before it runs out (`cost: 0` with a
 * lease asked) makes no call of its own: the calls are those its leases
 * serve, counted by `leased_calls`. It counts nothing in the key's usage;
 * every check still applies, so a revoked key gets no lease. A key with
 * credits is never leased, so nothing asking a lease of it is a renewal:
 * that call counts.
 */
export function isLeaseRenewal(request: VerifyRequest, outcome: VerifyOutcome): boolean {
  if (request.cost !== 0 || (request.lease ?? 0) === 0) return false;
  return outcome.kind === 'not_found' || !outcome.key.client.credits;
}

/** The inspector for RFC 7662 introspection of raw keys: the find and check steps of the same pipeline. */
export function createKeyInspector(deps: {
  config: Config;
  clients: ClientStore;
  roles?: Pick<RoleService, 'effectivePermissions'>;
  clock?: Clock;
}): KeyInspector {
  const { config, clients, clock = systemClock } = deps;
  const found: FindDeps = {
    config,
    clients,
    byDigest: batchedByDigest(clients),
    permissionsOf: deps.roles?.effectivePermissions,
  };
  return {
    async inspect(value) {
      const key = await findKeyOnly(found, value);
      return key.kind === 'found' ? run(INSPECT_STEPS, deps, startVerification(NO_CALL, key, clock.now())) : key;
    },
  };
}

/** Concurrent verifications share one read of the keys they name. */
function batchedByDigest(clients: ClientStore): FindDeps['byDigest'] {
  return createBatcher((digests: readonly string[]) => clients.findByKeyDigest(digests));
}
