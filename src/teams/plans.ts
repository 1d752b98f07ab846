import type { PlanSettings } from '../config.js';

/**
 * What a team whose plan was removed from the configuration gets: it keeps its
 * data but loses API access and makes no new keys; its callers (an admin's
 * token issued earlier, at the admin API) keep the schema's default limits, so
 * an admin can still list and revoke. One definition: the dashboard shows what
 * the budgets enforce.
 */
export const REMOVED_PLAN: PlanSettings = Object.freeze({
  api_access: false,
  max_keys: 0,
  rate_limits: Object.freeze([30, 500, 5000]) as unknown as PlanSettings['rate_limits'],
});

/** The configured plan of that name (own names only: `constructor` is no plan), or REMOVED_PLAN. */
export function planNamed(plans: Readonly<Record<string, PlanSettings>>, name: string): PlanSettings {
  return (Object.hasOwn(plans, name) ? plans[name] : undefined) ?? REMOVED_PLAN;
}

type Limits = PlanSettings['rate_limits'];

/** The limits of a plan's keys in `environment`: dev keys get dev_rate_limits, or a tenth of the plan's. */
export function planLimitsFor(plan: PlanSettings, environment: string): Limits {
  if (environment !== 'dev') return plan.rate_limits;
  return plan.dev_rate_limits ?? (plan.rate_limits.map((n) => Math.max(1, Math.floor(n / 10))) as unknown as Limits);
}
