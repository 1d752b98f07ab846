import type Router from '@koa/router';
import { actorOf } from '../access/principal.js';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import { InvalidRequest, KeyportError } from '../errors.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../events/webhooks.js';
import type { Ctx, Kit, State } from './kit.js';
import { endpointPage, webhookSecretPanel, webhooksPage } from './webhook-pages.js';

const isEventType = (value: string): value is WebhookEventType =>
  (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);

/**
 * The team's webhook endpoints (docs/contract.md, The dashboard → Webhooks): admins only, as
 * in the admin API; every rule is the endpoints service's, so another team's endpoint or
 * delivery is 404 here as there. Each change is audited.
 */
export function installWebhookRoutes(
  router: Router<State>,
  kit: Kit,
  deps: { endpoints: WebhookEndpoints; audit: AuditStore },
): void {
  const { endpoints, audit } = deps;
  const { form, requireSession, checkCsrf, allow, spendNonce, render, field, fields } = kit;
  const teamOf = (ctx: Ctx) => ctx.state.session!.teamId;

  const record = (ctx: Ctx, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId: teamOf(ctx),
      actorType: actorOf(ctx.state.principal!).type,
      actorId: actorOf(ctx.state.principal!).id,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details: { ...details, via: 'dashboard' },
    });

  const listPage = async (ctx: Ctx, status: number, extra: { url?: string; events?: string[]; error?: string } = {}) =>
    render(
      ctx,
      status,
      'Webhooks',
      webhooksPage({
        csrf: ctx.state.viewer!.csrf,
        nonce: kit.newNonce(),
        endpoints: await endpoints.list(teamOf(ctx)),
        ...extra,
      }),
      '/dashboard/webhooks',
    );

  router.get('/webhooks', requireSession, allow('keys:manage'), (ctx) => listPage(ctx, 200));

  router.post('/webhooks', form, requireSession, checkCsrf, allow('keys:manage'), spendNonce, async (ctx) => {
    const url = field(ctx, 'url').trim();
    const events = fields(ctx, 'events');
    let registered;
    try {
      if (!events.length) throw new InvalidRequest('events', 'choose at least one event');
      const unknown = events.find((e) => !isEventType(e));
      if (unknown !== undefined) throw new InvalidRequest('events', `keyport sends no event named ${unknown}`);
      registered = await endpoints.register(teamOf(ctx), { url, events: events.filter(isEventType) });
    } catch (err) {
      // A refused URL or a missing event: said in words, on the form (with a fresh nonce, to send again).
      if (err instanceof KeyportError && err.status === 400)
        return listPage(ctx, 400, { url, events, error: err.message });
      throw err;
    }
    ctx.status = 201;
    await record(ctx, 'webhook.create', {
      endpoint_id: registered.endpoint.id,
      url: registered.endpoint.url,
      events: registered.endpoint.events,
    });
    render(ctx, 201, 'Endpoint registered', webhookSecretPanel(registered), '/dashboard/webhooks');
  });

  router.get('/webhooks/:id', requireSession, allow('keys:manage'), async (ctx) => {
    const endpoint = await endpoints.get(teamOf(ctx), ctx.params.id ?? '');
    const deliveries = await endpoints.deliveries(teamOf(ctx), endpoint.id);
    render(
      ctx,
      200,
      'Webhook endpoint',
      endpointPage({ csrf: ctx.state.viewer!.csrf, endpoint, deliveries }),
      '/dashboard/webhooks',
    );
  });

  router.post('/webhooks/:id/remove', form, requireSession, checkCsrf, allow('keys:manage'), async (ctx) => {
    const endpoint = await endpoints.get(teamOf(ctx), ctx.params.id ?? '');
    await endpoints.remove(teamOf(ctx), endpoint.id);
    ctx.status = 303;
    await record(ctx, 'webhook.remove', { endpoint_id: endpoint.id, url: endpoint.url });
    ctx.redirect('/dashboard/webhooks');
  });

  router.post(
    '/webhooks/:id/deliveries/:delivery/retry',
    form,
    requireSession,
    checkCsrf,
    allow('keys:manage'),
    async (ctx) => {
      const endpoint = await endpoints.get(teamOf(ctx), ctx.params.id ?? '');
      const delivery = await endpoints.retry(teamOf(ctx), endpoint.id, ctx.params.delivery ?? '');
      ctx.status = 303;
      await record(ctx, 'webhook.retry', {
        endpoint_id: endpoint.id,
        delivery_id: delivery.id,
        event_type: delivery.eventType,
      });
      ctx.redirect(`/dashboard/webhooks/${endpoint.id}`);
    },
  );
}
