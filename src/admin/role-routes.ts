import { z } from 'zod';
import { declareRoute, type RouteDeclaration } from '../web/route.js';
import { newRoleSchema, roleChangesSchema } from './schemas.js';

/** A team's roles (docs/contract.md, Permissions and roles): the product's and its own, in ALM Octane's shapes. */
const team = z.coerce.number().int().min(1).meta({ description: 'the team id' });
const role = z.object({ team, role: z.string().max(64).meta({ description: 'the role id' }) });
const refusals = [400, 401, 403, 404, 429] as const;

export const roleAnswer = z.object({
  type: z.literal('workspace_role').meta({ description: "ALM Octane's type name" }),
  id: z.string().meta({ description: "the product's role id (a word) or the team's own (a number)" }),
  name: z.string(),
  permissions: z.array(z.string()).meta({ description: 'resource:action, wildcards as given' }),
  built_in: z
    .boolean()
    .meta({ description: "the product's (its configuration): the same in every team, not editable" }),
});

export const ROLE_ROUTES = {
  list: declareRoute({
    method: 'get',
    path: '/api/teams/:team/roles',
    summary: "The roles a team's keys may hold: the product's (read_only among them), then the team's own",
    security: 'bearer',
    params: z.object({ team }),
    status: 200,
    response: z.object({ total_count: z.int(), data: z.array(roleAnswer), exceeds_total_count: z.boolean() }),
    errors: refusals,
  }),
  create: declareRoute({
    method: 'post',
    path: '/api/teams/:team/roles',
    summary: 'Make a role of the team: a name and its permissions',
    security: 'bearer',
    params: z.object({ team }),
    body: newRoleSchema,
    status: 201,
    response: roleAnswer,
    errors: refusals,
  }),
  update: declareRoute({
    method: 'patch',
    path: '/api/teams/:team/roles/:role',
    summary: "Rename a team's role or replace its permissions: every key holding it changes at once, guards too",
    security: 'bearer',
    params: role,
    body: roleChangesSchema,
    status: 200,
    response: roleAnswer,
    errors: refusals,
  }),
  remove: declareRoute({
    method: 'delete',
    path: '/api/teams/:team/roles/:role',
    summary: "Delete a team's role: the keys holding it lose it",
    security: 'bearer',
    params: role,
    status: 204,
    errors: refusals,
  }),
} satisfies Record<string, RouteDeclaration>;
