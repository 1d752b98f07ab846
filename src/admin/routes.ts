import { z } from 'zod';
import { declareRoute, type RouteDeclaration } from '../web/route.js';
import {
  clientAnswer,
  clientPageAnswer,
  eventPageAnswer,
  handedOverAnswer,
  octanePageAnswer,
  publicKeyAnswer,
  usageAnswer,
} from './answers.js';
import {
  clientChangesSchema,
  newClientSchema,
  newPublicKeySchema,
  newSecretSchema,
  octaneChangeSchema,
  pageSchema,
  usageRangeSchema,
} from './schemas.js';

/**
 * The admin API of docs/contract.md as a table of contents: each route's
 * path, input and answer, declared once. The router validates and strips by
 * these, and /api/openapi.json is generated from them.
 */
const team = z.coerce.number().int().min(1).meta({ description: 'the team id' });
const client = z.object({ team, client_id: z.string() });
/** Every caller-checked route: a bad field, the caller, its rights, the team or client, the plan budget. */
const refusals = [400, 401, 403, 404, 429] as const;

export const ADMIN_ROUTES = {
  createClient: declareRoute({
    method: 'post',
    path: '/api/teams/:team/clients',
    summary: 'Create a key: the answer has its client_secret this once (or, with share, a share_url)',
    security: 'bearer',
    params: z.object({ team }),
    body: newClientSchema,
    status: 201,
    response: z.union([handedOverAnswer, octanePageAnswer]),
    errors: refusals,
  }),
  listClients: declareRoute({
    method: 'get',
    path: '/api/teams/:team/clients',
    summary: "List the team's keys (never a secret)",
    security: 'bearer',
    params: z.object({ team }),
    query: pageSchema,
    status: 200,
    response: clientPageAnswer,
    errors: refusals,
  }),
  getClient: declareRoute({
    method: 'get',
    path: '/api/teams/:team/clients/:client_id',
    summary: 'Get a key',
    security: 'bearer',
    params: client,
    status: 200,
    response: clientAnswer,
    errors: refusals,
  }),
  updateClient: declareRoute({
    method: 'patch',
    path: '/api/teams/:team/clients/:client_id',
    summary: 'Rename, rescope, change the credits of or revoke (is_valid: false) a key',
    security: 'bearer',
    params: client,
    body: clientChangesSchema,
    status: 200,
    response: clientAnswer,
    errors: refusals,
  }),
  replaceClient: declareRoute({
    method: 'put',
    path: '/api/teams/:team/clients/:client_id',
    summary:
      "ALM Octane's: {is_valid: false} revokes, {is_valid: true, client_secret?} regenerates the secret (same client_id)",
    security: 'bearer',
    params: client,
    body: octaneChangeSchema,
    status: 200,
    response: handedOverAnswer,
    errors: refusals,
  }),
  revokeClient: declareRoute({
    method: 'delete',
    path: '/api/teams/:team/clients/:client_id',
    summary: 'Revoke a key, keeping the record',
    security: 'bearer',
    params: client,
    status: 204,
    errors: refusals,
  }),
  regenerateSecret: declareRoute({
    method: 'post',
    path: '/api/teams/:team/clients/:client_id/secret',
    summary: 'Regenerate the secret (same client_id); revives a revoked key',
    security: 'bearer',
    params: client,
    body: newSecretSchema,
    status: 200,
    response: handedOverAnswer,
    errors: refusals,
  }),
  addPublicKey: declareRoute({
    method: 'post',
    path: '/api/teams/:team/clients/:client_id/keys',
    summary: 'Add a public key to a JWT service account (at most 3), for a key-pair rotation without downtime',
    security: 'bearer',
    params: client,
    body: newPublicKeySchema,
    status: 201,
    response: publicKeyAnswer,
    errors: refusals,
  }),
  removePublicKey: declareRoute({
    method: 'delete',
    path: '/api/teams/:team/clients/:client_id/keys/:kid',
    summary: 'Remove a public key (never the last)',
    security: 'bearer',
    params: client.extend({ kid: z.string() }),
    status: 204,
    errors: refusals,
  }),
  usage: declareRoute({
    method: 'get',
    path: '/api/teams/:team/clients/:client_id/usage',
    summary: "A key's direct API calls per hour or day by outcome, and its last source addresses",
    security: 'bearer',
    params: client,
    query: usageRangeSchema,
    status: 200,
    response: usageAnswer,
    errors: refusals,
  }),
  events: declareRoute({
    method: 'get',
    path: '/api/teams/:team/events',
    summary: "The team's audit events, newest first",
    security: 'bearer',
    params: z.object({ team }),
    query: pageSchema,
    status: 200,
    response: eventPageAnswer,
    errors: refusals,
  }),
  eventStream: declareRoute({
    method: 'get',
    path: '/api/events/stream',
    summary:
      "The operator's: every team's audit events as server-sent events (`id:` the event's id, `event: audit`), resumable with Last-Event-ID",
    security: 'bearer',
    query: z.object({
      last_event_id: z.coerce
        .number({ error: 'must be a whole number (an event id)' })
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .optional()
        .meta({ description: 'as the Last-Event-ID header, for clients that cannot set it' }),
    }),
    status: 200,
    responseType: 'text/event-stream',
    errors: [400, 401, 403, 429],
  }),
  openApi: declareRoute({
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document (OpenAPI 3.1), generated from the route declarations',
    security: 'none',
    status: 200,
    response: z.record(z.string(), z.unknown()),
    errors: [],
  }),
} satisfies Record<string, RouteDeclaration>;
