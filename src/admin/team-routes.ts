import { z } from 'zod';
import { ROLES } from '../teams/team.js';
import { LEAKED_KEY_ACTIONS } from '../clients/leak-store.js';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/**
 * The operator's routes for teams and people (issue 24 item 8), declared as
 * ADMIN_ROUTES are: validated and stripped by these, and in /api/openapi.json.
 * Only the operator token passes; a team's callers get 403.
 */
const team = z.coerce.number().int().min(1).meta({ description: 'the team id' });
const member = z.object({ team, user_id: z.coerce.number().int().min(1).meta({ description: 'the person' }) });
const time = z.iso.datetime();
const role = z.enum(ROLES);

export const teamAnswer = z.object({ team_id: z.int(), name: z.string(), plan: z.string(), created_at: time });

export const memberAnswer = z.object({
  user_id: z.int(),
  kind: z.enum(['person', 'service_account']),
  email: z.string().nullable(),
  name: z.string().nullable(),
  role,
  client_id: z.string().optional().meta({ description: "a service account's key" }),
});

export const TEAM_ROUTES = {
  listTeams: declareRoute({
    method: 'get',
    path: '/api/teams',
    summary: 'List every team with its plan (operator)',
    security: 'bearer',
    status: 200,
    response: z.object({ total_count: z.int(), data: z.array(teamAnswer) }),
    errors: [401, 403, 429],
  }),
  changePlan: declareRoute({
    method: 'patch',
    path: '/api/teams/:team',
    summary: "Change a team's plan (operator); its keys' limits and API access follow at once",
    security: 'bearer',
    params: z.object({ team }),
    body: z.strictObject({ plan: z.string().min(1).max(32) }),
    status: 200,
    response: teamAnswer.extend({ previous_plan: z.string(), api_access: z.boolean(), max_keys: z.int() }),
    errors: [400, 401, 403, 404, 429],
  }),
  setLeakedKeyAction: declareRoute({
    method: 'put',
    path: '/api/teams/:team/leaked-keys',
    summary:
      "What happens to the team's keys a secret scanner reports (operator): `revoke` at once (the default) or only `flag` (admins mailed, key.leaked sent, the key keeps working)",
    security: 'bearer',
    params: z.object({ team }),
    body: z.strictObject({ action: z.enum(LEAKED_KEY_ACTIONS as ['revoke', 'flag']) }),
    status: 200,
    response: z.object({ team_id: z.int(), action: z.enum(LEAKED_KEY_ACTIONS as ['revoke', 'flag']) }),
    errors: [400, 401, 403, 404, 429],
  }),
  listMembers: declareRoute({
    method: 'get',
    path: '/api/teams/:team/members',
    summary: "List a team's people and service accounts with their roles (operator)",
    security: 'bearer',
    params: z.object({ team }),
    status: 200,
    response: z.object({ total_count: z.int(), data: z.array(memberAnswer) }),
    errors: [401, 403, 404, 429],
  }),
  changeRole: declareRoute({
    method: 'patch',
    path: '/api/teams/:team/members/:user_id',
    summary: "Change a person's role (operator); 409 last_admin rather than leave the team with no admin",
    security: 'bearer',
    params: member,
    body: z.strictObject({ role }),
    status: 200,
    response: memberAnswer.extend({ previous_role: role }),
    errors: [400, 401, 403, 404, 409, 429],
  }),
  resetPassword: declareRoute({
    method: 'post',
    path: '/api/teams/:team/members/:user_id/password',
    summary:
      "Reset a person's password (operator): a chosen one, or a generated one answered this once; every session they hold ends",
    security: 'bearer',
    params: member,
    body: z.strictObject({
      password: z.string().max(200).optional().meta({ description: '8 characters to 72 bytes; absent: generated' }),
    }),
    status: 200,
    response: z.object({
      user_id: z.int(),
      team_id: z.int(),
      email: z.string().nullable(),
      sessions_ended: z.literal(true),
      password: z.string().optional().meta({ description: 'only when generated, only here, only once' }),
    }),
    errors: [400, 401, 403, 404, 429],
  }),
  removeMember: declareRoute({
    method: 'delete',
    path: '/api/teams/:team/members/:user_id',
    summary: 'Remove a person from the team (operator): their tokens, grants and sessions with the team end at once',
    security: 'bearer',
    params: member,
    status: 204,
    errors: [401, 403, 404, 409, 429],
  }),
} satisfies Record<string, RouteDeclaration>;
