import { openApiDocument } from '../web/route-openapi.js';
import type { RouteDeclaration } from '../web/route.js';
import { ADMIN_ROUTES } from './routes.js';
import { TEAM_ROUTES } from './team-routes.js';
import { WEBHOOK_ROUTES } from './webhook-routes.js';
import { SYNC_ROUTES } from './sync-routes.js';
import { SYNC_TOKEN_ROUTES } from './sync-token-routes.js';
import { ROLE_ROUTES } from './role-routes.js';

/**
 * The OpenAPI 3.1 document served at GET /api/openapi.json, generated from
 * the admin API's route declarations and those of the other JSON routes the
 * composition hands in (/keys): nothing in it is written by hand.
 */
export function adminOpenApi(otherRoutes: readonly RouteDeclaration[] = []) {
  return openApiDocument({ title: 'keyport API', version: '1' }, [
    ...Object.values(ADMIN_ROUTES),
    ...Object.values(TEAM_ROUTES),
    ...WEBHOOK_ROUTES,
    ...Object.values(SYNC_ROUTES),
    ...Object.values(SYNC_TOKEN_ROUTES),
    ...Object.values(ROLE_ROUTES),
    ...otherRoutes,
  ]);
}
