import { z } from 'zod';
import { ROLES } from '../teams/team.js';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/**
 * The product's sync of teams and people by its own ids (issue 26 item 3),
 * declared as TEAM_ROUTES are: validated, stripped, and in /api/openapi.json.
 * The operator token or a sync token (teams/sync-tokens.ts) passes; a team's
 * callers get 403. Each call is
 * idempotent: a repeat answers 200 with the same body and writes nothing.
 */
const externalId = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .meta({ description: `the ${what}'s id in the product` });
const team = z.object({ ext: externalId('team') });
const member = z.object({ ext: externalId('team'), ext_user: externalId('person') });
const role = z.enum(ROLES);

export const syncedTeamAnswer = z.object({
  team_id: z.int(),
  external_id: z.string(),
  name: z.string(),
  plan: z.string(),
  created_at: z.iso.datetime(),
  suspended: z.boolean().meta({ description: "true after DELETE: the team's keys do not work; a PUT resumes it" }),
});

export const syncedMemberAnswer = z.object({
  team_id: z.int(),
  team_external_id: z.string(),
  user_id: z.int(),
  external_id: z.string(),
  email: z.string(),
  role,
  has_password: z
    .boolean()
    .meta({ description: 'false: the person cannot sign in with a password until one is set (userpassword)' }),
});

export const SYNC_ROUTES = {
  putTeam: declareRoute({
    method: 'put',
    path: '/api/teams/by-external-id/:ext',
    summary:
      "Create (201) or update (200) the team the product calls `ext` (operator or sync token); a plan change applies to its keys' limits at once, a suspended team resumes; a repeat changes nothing",
    security: 'bearer',
    params: team,
    body: z.strictObject({ name: z.string().min(1).max(200), plan: z.string().min(1).max(32) }),
    status: 200,
    response: syncedTeamAnswer,
    errors: [400, 401, 403, 429],
  }),
  suspendTeam: declareRoute({
    method: 'delete',
    path: '/api/teams/by-external-id/:ext',
    summary:
      'Suspend the team (operator or sync token): its keys stop working at once (/token, /keys/verify, guards), its data is kept; a PUT resumes it',
    security: 'bearer',
    params: team,
    status: 204,
    errors: [401, 403, 404, 429],
  }),
  putMember: declareRoute({
    method: 'put',
    path: '/api/teams/by-external-id/:ext/members/:ext_user',
    summary:
      'Create (201) or update (200) the person the product calls `ext_user` in the team (operator or sync token); a person made here has no password; a repeat changes nothing',
    security: 'bearer',
    params: member,
    body: z.strictObject({ email: z.string().min(3).max(254), role }),
    status: 200,
    response: syncedMemberAnswer,
    errors: [400, 401, 403, 404, 409, 429],
  }),
  removeMember: declareRoute({
    method: 'delete',
    path: '/api/teams/by-external-id/:ext/members/:ext_user',
    summary:
      'Remove the person from the team (operator or sync token): their tokens, grants and sessions with the team end at once; 204 again when already gone',
    security: 'bearer',
    params: member,
    status: 204,
    errors: [401, 403, 404, 409, 429],
  }),
} satisfies Record<string, RouteDeclaration>;
