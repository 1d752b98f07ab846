import type { RouterMiddleware } from '@koa/router';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import { authorize, SYNC_ONLY, type TeamAction } from '../access/authorize.js';
import type { CallerAuth } from '../access/callers.js';
import { actorOf } from '../access/principal.js';
import { InsufficientPermissions, InvalidToken, NotFound, RateLimitExceeded } from '../errors.js';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import type { AdminState } from './state.js';

type Step = RouterMiddleware<AdminState>;

/** What a route asks of its caller: a team action, the operator, or the sync (operator or sync token). */
export type CallerRequirement = TeamAction | 'operator' | 'sync';

/**
 * The admin API's caller check as named steps, in the order they run (as
 * oidc-provider's lib/actions/token.js lists its endpoint): each shows in a
 * stack trace and leaves its result on ctx.state for the next.
 * `requireCaller('keys:manage')` is the whole list for one route.
 */
export function createCallerSteps({
  callers,
  plans,
  failures,
}: {
  callers: CallerAuth;
  plans: PlanLimits;
  failures: AuthFailures;
}): (action: CallerRequirement) => readonly Step[] {
  const authenticate: Step = async function authenticate(ctx, next) {
    // An address that presented too many unknown tokens is refused before any lookup.
    const wait = await failures.retryAfter({ address: ctx.ip });
    if (wait > 0) {
      noteRateLimit(ctx.state, 'auth_failures');
      ctx.set('Retry-After', String(wait));
      throw new RateLimitExceeded(wait);
    }
    try {
      const caller = await callers.authenticate(ctx.get('authorization') || undefined, ctx.ip);
      ctx.state.principal = caller.principal;
      ctx.state.caller = actorOf(caller.principal);
      ctx.state.client = caller.client;
    } catch (err) {
      if (err instanceof InvalidToken) await failures.failed({ address: ctx.ip });
      throw err;
    }
    await next();
  };

  const chargePlanBudget: Step = async function chargePlanBudget(ctx, next) {
    const { client } = ctx.state;
    // Per client, per plan, before any other work (docs/contract.md, Rate limits); the operator has no plan.
    if (client) {
      const holder = {
        clientId: client.clientId,
        teamId: client.team_id,
        plan: client.plan,
        environment: client.environment,
        kind: client.kind,
      };
      const verdict = await plans.consume(plans.counterOf(holder), plans.limitsFor(client));
      ctx.set(verdict.headers);
      if (!verdict.allowed) {
        ctx.set('Retry-After', String(verdict.retryAfter));
        throw new RateLimitExceeded(verdict.retryAfter);
      }
    }
    await next();
  };

  const parseTeam: Step = async function parseTeam(ctx, next) {
    const teamId = /^[1-9]\d{0,9}$/.test(ctx.params.team ?? '') ? Number(ctx.params.team) : NaN;
    if (!Number.isSafeInteger(teamId)) throw new NotFound('not found');
    ctx.state.teamId = teamId;
    await next();
  };

  const authorizeFor = (action: TeamAction): Step =>
    async function authorizeTeamAction(ctx, next) {
      authorize(ctx.state.principal!, ctx.state.teamId, action);
      await next();
    };

  /** Operator-only routes (teams and people, issue 24 item 8; the event stream; product-wide webhooks): a team's own callers are refused, whatever their scopes. */
  const requireOperator: Step = async function requireOperator(ctx, next) {
    const kind = ctx.state.principal?.kind;
    if (kind === 'sync_token') throw new InsufficientPermissions(SYNC_ONLY);
    if (kind !== 'operator')
      throw new InsufficientPermissions('only the operator (KEYPORT_ADMIN_TOKEN) may call this route');
    await next();
  };

  /** The sync routes: the operator, or a sync token of the product (issue 26 item 3). */
  const requireSyncCaller: Step = async function requireSyncCaller(ctx, next) {
    const kind = ctx.state.principal?.kind;
    if (kind !== 'operator' && kind !== 'sync_token')
      throw new InsufficientPermissions('only the operator or a sync token syncs teams and people');
    await next();
  };

  const stepsFor = (action: CallerRequirement): readonly Step[] => {
    switch (action) {
      case 'operator':
        return [authenticate, chargePlanBudget, requireOperator];
      case 'sync':
        return [authenticate, chargePlanBudget, requireSyncCaller];
      default:
        return [authenticate, chargePlanBudget, parseTeam, authorizeFor(action)];
    }
  };

  const stacks = new Map<CallerRequirement, readonly Step[]>();
  return (action) => {
    let stack = stacks.get(action);
    if (!stack) stacks.set(action, (stack = stepsFor(action)));
    return stack;
  };
}
