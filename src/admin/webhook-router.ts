import type Router from '@koa/router';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { TeamAction } from '../access/authorize.js';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { EndpointOwner, WebhookEndpoints } from '../events/webhook-endpoints.js';
import type { WebhookDelivery, WebhookEndpoint } from '../events/webhooks.js';
import { guarded } from '../web/route.js';
import type { AdminState } from './state.js';
import { OPERATOR_WEBHOOK_ROUTES, TEAM_WEBHOOK_ROUTES } from './webhook-routes.js';

type Ctx = RouterContext<AdminState>;
type Step = RouterMiddleware<AdminState>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  team_id: e.teamId,
  created_at: iso(e.createdAt)!,
  failing_since: iso(e.failingSince),
  disabled_at: iso(e.disabledAt),
});

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  created_at: iso(d.createdAt)!,
  next_attempt_at: iso(d.nextAttemptAt),
  last_status_code: d.lastStatusCode,
  last_latency_ms: d.lastLatencyMs,
  last_error: d.lastError,
  delivered_at: iso(d.deliveredAt),
});

const page = <T>(data: readonly T[]) => ({ total_count: data.length, data, exceeds_total_count: false });

/**
 * Webhook endpoints, twice: a team's (its admins, or a keys:manage key; another team's
 * endpoint answers 404 as if it did not exist) and the operator's product-wide ones.
 */
export function addWebhookRoutes(
  router: Router<AdminState>,
  {
    requireCaller,
    requireJson,
    endpoints,
    audit,
  }: {
    requireCaller: (action: TeamAction | 'operator') => readonly Step[];
    requireJson: Step;
    endpoints: WebhookEndpoints;
    audit: AuditStore;
  },
): void {
  /** Each change is audited, in the team's log (the operator's product-wide endpoints: team null). */
  const record = (ctx: Ctx, owner: EndpointOwner, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId: owner,
      actorType: ctx.state.caller!.type,
      actorId: ctx.state.caller!.id,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });
  const at = (path: string) => path.slice('/api'.length);
  const mounts = [
    {
      routes: TEAM_WEBHOOK_ROUTES,
      steps: requireCaller('keys:manage'),
      owner: (ctx: Ctx): EndpointOwner => ctx.state.teamId,
    },
    { routes: OPERATOR_WEBHOOK_ROUTES, steps: requireCaller('operator'), owner: (): EndpointOwner => null },
  ] as const;
  for (const { routes: R, steps, owner } of mounts) {
    router.post(
      at(R.create.path),
      ...steps,
      requireJson,
      guarded(R.create, async (ctx: Ctx, { body }) => {
        const { endpoint, secret } = await endpoints.register(owner(ctx), body);
        ctx.set('Cache-Control', 'no-store');
        await record(ctx, owner(ctx), 'webhook.create', {
          endpoint_id: endpoint.id,
          url: endpoint.url,
          events: endpoint.events,
        });
        return { ...endpointView(endpoint), secret };
      }),
    );
    router.get(
      at(R.list.path),
      ...steps,
      guarded(R.list, async (ctx: Ctx) => page((await endpoints.list(owner(ctx))).map(endpointView))),
    );
    router.delete(
      at(R.remove.path),
      ...steps,
      guarded(R.remove, async (ctx: Ctx, { params }) => {
        const endpoint = await endpoints.get(owner(ctx), String(params.id));
        await endpoints.remove(owner(ctx), endpoint.id);
        await record(ctx, owner(ctx), 'webhook.remove', { endpoint_id: endpoint.id, url: endpoint.url });
      }),
    );
    router.get(
      at(R.deliveries.path),
      ...steps,
      guarded(R.deliveries, async (ctx: Ctx, { params }) =>
        page((await endpoints.deliveries(owner(ctx), String(params.id))).map(deliveryView)),
      ),
    );
    router.post(
      at(R.retry.path),
      ...steps,
      guarded(R.retry, async (ctx: Ctx, { params }) => {
        const delivery = await endpoints.retry(owner(ctx), String(params.id), String(params.delivery_id));
        await record(ctx, owner(ctx), 'webhook.retry', {
          endpoint_id: delivery.endpointId,
          delivery_id: delivery.id,
          event_type: delivery.eventType,
        });
        return deliveryView(delivery);
      }),
    );
  }
}
