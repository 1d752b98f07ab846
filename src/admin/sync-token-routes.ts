import { z } from 'zod';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/**
 * The operator's sync tokens (issue 26 item 3; teams/sync-tokens.ts), as the CLI's
 * synctokenadd, synctokenlist and synctokenrevoke. Operator only: a sync token is
 * refused here (403) like everywhere but the sync routes.
 */
const time = z.iso.datetime();
const tokenAnswer = z.object({
  token_id: z.int(),
  name: z.string(),
  created_at: time,
  revoked_at: time.nullable(),
});

export const SYNC_TOKEN_ROUTES = {
  create: declareRoute({
    method: 'post',
    path: '/api/sync-tokens',
    summary:
      'Make a sync token for the product (operator): it opens the sync routes only; the answer has the token (keyport_sync_…) this once',
    security: 'bearer',
    body: z.strictObject({ name: z.string().min(1).max(200) }),
    status: 201,
    response: tokenAnswer.extend({
      token: z.string().meta({ description: 'keyport_sync_ and 43 base64url characters; shown this once' }),
    }),
    errors: [400, 401, 403, 429],
  }),
  list: declareRoute({
    method: 'get',
    path: '/api/sync-tokens',
    summary: 'List the sync tokens (operator; never a token nor its hash)',
    security: 'bearer',
    status: 200,
    response: z.object({ total_count: z.int(), data: z.array(tokenAnswer) }),
    errors: [401, 403, 429],
  }),
  revoke: declareRoute({
    method: 'delete',
    path: '/api/sync-tokens/:id',
    summary: 'Revoke a sync token (operator): the next call with it answers 401; 204 again when revoked already',
    security: 'bearer',
    params: z.object({
      id: z.coerce
        .number({ error: 'must be a token_id (a whole number)' })
        .int()
        .min(1)
        .max(2_147_483_647)
        .meta({ description: 'token_id' }),
    }),
    status: 204,
    errors: [400, 401, 403, 404, 429],
  }),
} satisfies Record<string, RouteDeclaration>;
