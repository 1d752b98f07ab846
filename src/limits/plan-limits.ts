import { planLimitsFor, planNamed } from '../teams/plans.js';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PlanCounterStore } from './plan-counter-store.js';

/** What a rate-limited answer carries (docs/contract.md, Rate limits). */
export interface LimitVerdict {
  readonly allowed: boolean;
  readonly headers: Readonly<Record<'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset', string>>;
  /** Whole seconds until the exceeded window has room again. */
  readonly retryAfter: number;
  /** What every window still has room for (the fewest left in any). */
  readonly room: number;
  /** Milliseconds until the shortest window ends (a lease must not outlive it). */
  readonly windowEndsInMs: number;
}

export interface PlanLimits {
  /**
   * Counts one request of an authenticated client against each window and
   * reports on the tightest. `limits` are the client's (plan, environment).
   */
  consume(clientId: string, limits: readonly [number, number, number], cost?: number): Promise<LimitVerdict>;
  /** The same answer as `consume`, counting nothing: a look at the budget (for a refusal that spends none). */
  peek(clientId: string, limits: readonly [number, number, number]): Promise<LimitVerdict>;
  /** The limits of a client: its plan's (dev keys: the plan's dev_rate_limits); resource servers have their own. */
  limitsFor(client: { plan?: string; environment: string; kind: string }): readonly [number, number, number];
  /**
   * Whose counters a client's requests go to: its own (`clientId`), or its
   * team's when its plan says `limit_per: team` (`team:<id>`; its dev keys
   * share `team:<id>:dev`, as their limits are the plan's dev_rate_limits).
   */
  counterOf(client: BudgetHolder): string;
}

export interface BudgetHolder {
  readonly clientId: string;
  readonly teamId?: number | null;
  readonly plan?: string;
  readonly environment: string;
  readonly kind: string;
}

/**
 * Plan budgets: each request counted in all three windows (minute, hour,
 * day by default) of its client's store, with one round trip per batch of
 * concurrent requests; the answer reports on the tightest window.
 */
export function createPlanLimits(counters: PlanCounterStore, config: Config, clock: Clock = systemClock): PlanLimits {
  const windows = config.rateLimitWindowsSeconds;

  /** The current windows' starts (epoch seconds) at `now` (ms). */
  const startsAt = (now: number) => {
    const seconds = Math.floor(now / 1000);
    return windows.map((w) => seconds - (seconds % w));
  };

  /** The verdict on counts `used` of the windows starting at `starts`. */
  function verdictOf(
    now: number,
    starts: readonly number[],
    used: readonly number[],
    limits: readonly number[],
  ): LimitVerdict {
    const states = used.map((n, i) => ({
      limit: limits[i]!,
      used: n,
      resetMs: (starts[i]! + windows[i]!) * 1000 - now,
    }));
    const exceeded = states.filter((s) => s.used > s.limit);
    // The tightest window: the one with the fewest requests left.
    const tightest = states.reduce((a, b) => (b.limit - b.used < a.limit - a.used ? b : a));
    const shown = exceeded.length ? exceeded.reduce((a, b) => (b.resetMs > a.resetMs ? b : a)) : tightest;
    return {
      allowed: exceeded.length === 0,
      headers: {
        'X-RateLimit-Limit': String(shown.limit),
        'X-RateLimit-Remaining': String(Math.max(0, shown.limit - shown.used)),
        'X-RateLimit-Reset': String(Math.ceil((now + shown.resetMs) / 1000)),
      },
      retryAfter: Math.max(1, Math.ceil(shown.resetMs / 1000)),
      room: Math.max(0, Math.min(...states.map((s) => s.limit - s.used))),
      windowEndsInMs: Math.min(...states.map((s) => s.resetMs)),
    };
  }

  async function peek(clientId: string, limits: readonly [number, number, number]): Promise<LimitVerdict> {
    const now = clock.now();
    const starts = startsAt(now);
    return verdictOf(now, starts, await counters.read(clientId, starts), limits);
  }

  return {
    async consume(clientId, limits, cost = 1) {
      // Nothing to count: the budget as it stands. (An upsert adding 0 changes no row, which
      // MySQL reports as a row inserted: the counts read were 0, a whole budget shown.)
      if (cost === 0) return peek(clientId, limits);
      const now = clock.now();
      const starts = startsAt(now);
      return verdictOf(now, starts, await counters.count(clientId, starts, cost), limits);
    },

    peek,

    limitsFor({ plan, environment, kind }) {
      if (kind === 'resource_server') return config.resourceServerRateLimits;
      // No plan at all (a row without a team): the smallest budget. A named plan: the same rule as the dashboard's.
      return plan !== undefined ? planLimitsFor(planNamed(config.plans, plan), environment) : ([1, 1, 1] as const);
    },

    counterOf({ clientId, teamId, plan, environment, kind }) {
      if (kind === 'resource_server' || plan === undefined || teamId === null || teamId === undefined) return clientId;
      if (planNamed(config.plans, plan).limit_per !== 'team') return clientId;
      return environment === 'dev' ? `team:${teamId}:dev` : `team:${teamId}`;
    },
  };
}

/** Deletes the counters of clients idle for a whole longest window (the sweep). */
export function deleteIdleCounters(
  counters: PlanCounterStore,
  config: Config,
  clock: Clock = systemClock,
): Promise<number> {
  return counters.deleteIdle(secondsOf(clock) - config.rateLimitWindowsSeconds[2]);
}
