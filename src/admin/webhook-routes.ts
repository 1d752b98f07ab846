import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../events/webhooks.js';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/** Webhooks (docs/contract.md, Webhooks): a team admin's, and the operator's product-wide ones. */
const time = z.iso.datetime();
const team = z.coerce.number().int().min(1).meta({ description: 'the team id' });
const endpointId = z.string().max(40).meta({ description: 'the endpoint id (whe_…)' });
const deliveryId = z.string().max(40).meta({ description: 'the delivery id, its webhook-id (msg_…)' });
const refusals = [400, 401, 403, 404, 429] as const;

export const newEndpointSchema = z
  .object({
    url: z.string().max(2048).meta({ description: 'https:// (http:// only with webhook_allow_private_addresses)' }),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length),
  })
  .strict();

/** An endpoint as every read shows it: never its secret. */
export const endpointAnswer = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  team_id: z.int().nullable().meta({ description: "null: the operator's, product-wide" }),
  created_at: time,
  failing_since: time.nullable(),
  disabled_at: time
    .nullable()
    .meta({ description: 'set after a day of failures; a successful "send again" clears it' }),
});

const createdEndpointAnswer = endpointAnswer.extend({
  secret: z.string().meta({ description: 'the Standard Webhooks whsec_… secret, shown this once' }),
});

const list = <T extends z.ZodType>(item: T) =>
  z.object({ total_count: z.int(), data: z.array(item), exceeds_total_count: z.boolean() });

export const deliveryAnswer = z.object({
  id: z.string().meta({ description: 'the webhook-id header; the same on every attempt' }),
  event_type: z.enum(WEBHOOK_EVENT_TYPES),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.int(),
  created_at: time,
  next_attempt_at: time.nullable(),
  last_status_code: z.int().nullable(),
  last_latency_ms: z.int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: time.nullable(),
});

/** The same five routes under a team (`keys:manage`) and product-wide (the operator). */
function routesAt<P extends z.ZodObject>(base: string, owner: P, security: string) {
  return {
    create: declareRoute({
      method: 'post',
      path: `${base}/webhooks`,
      summary: `Register a webhook endpoint (${security}); the answer has its secret this once`,
      security: 'bearer',
      params: owner,
      body: newEndpointSchema,
      status: 201,
      response: createdEndpointAnswer,
      errors: refusals,
    }),
    list: declareRoute({
      method: 'get',
      path: `${base}/webhooks`,
      summary: `List webhook endpoints (${security}; never a secret)`,
      security: 'bearer',
      params: owner,
      status: 200,
      response: list(endpointAnswer),
      errors: refusals,
    }),
    remove: declareRoute({
      method: 'delete',
      path: `${base}/webhooks/:id`,
      summary: `Remove a webhook endpoint and its delivery log (${security})`,
      security: 'bearer',
      params: owner.extend({ id: endpointId }),
      status: 204,
      errors: refusals,
    }),
    deliveries: declareRoute({
      method: 'get',
      path: `${base}/webhooks/:id/deliveries`,
      summary: `An endpoint's last 100 deliveries, newest first: status, latency, next attempt (${security})`,
      security: 'bearer',
      params: owner.extend({ id: endpointId }),
      status: 200,
      response: list(deliveryAnswer),
      errors: refusals,
    }),
    retry: declareRoute({
      method: 'post',
      path: `${base}/webhooks/:id/deliveries/:delivery_id/retry`,
      summary: `Send a delivery again, same webhook-id and body (${security})`,
      security: 'bearer',
      params: owner.extend({ id: endpointId, delivery_id: deliveryId }),
      status: 202,
      response: deliveryAnswer,
      errors: refusals,
    }),
  };
}

export const TEAM_WEBHOOK_ROUTES = routesAt('/api/teams/:team', z.object({ team }), 'a team admin');
export const OPERATOR_WEBHOOK_ROUTES = routesAt('/api', z.object({}), 'the operator, product-wide');

export const WEBHOOK_ROUTES: readonly RouteDeclaration[] = [
  ...Object.values(TEAM_WEBHOOK_ROUTES),
  ...Object.values(OPERATOR_WEBHOOK_ROUTES),
];
