import type { VerifyOutcome } from './outcome.js';
import { counterOf, rateLimitOf, type SpendDeps } from './steps.js';

/**
 * A call refused for a missing scope or a plan without API access spends
 * nothing, yet the resource server's answer carries the key's rate-limit
 * state like every answer for a usable key (the guard's X-RateLimit-*):
 * read here, after the refusal, with a look at the counters that adds nothing.
 */
export async function withBudgetShown(deps: SpendDeps, outcome: VerifyOutcome): Promise<VerifyOutcome> {
  if (outcome.kind !== 'insufficient_scope' && outcome.kind !== 'no_api_access') return outcome;
  const { client } = outcome.key;
  const limits = deps.plans.limitsFor({ plan: client.teamPlan, environment: client.environment, kind: client.kind });
  return { ...outcome, ratelimit: rateLimitOf(await deps.plans.peek(counterOf(deps, client), limits)) };
}
