import type Router from '@koa/router';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { TeamAction } from '../access/authorize.js';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { Role, RoleService } from '../clients/roles.js';
import { guarded } from '../web/route.js';
import type { AdminState } from './state.js';
import { ROLE_ROUTES as R } from './role-routes.js';

type Ctx = RouterContext<AdminState>;
type Step = RouterMiddleware<AdminState>;

const roleView = (r: Role) => ({
  type: 'workspace_role' as const,
  id: r.id,
  name: r.name,
  permissions: [...r.permissions],
  built_in: r.builtIn,
});

/**
 * A team's roles (issue 28 item 2): seen by whoever may read its keys, made
 * and changed by whoever may manage them. Another team's role answers 404.
 */
export function addRoleRoutes(
  router: Router<AdminState>,
  {
    requireCaller,
    requireJson,
    roles,
    audit,
  }: {
    requireCaller: (action: TeamAction | 'operator') => readonly Step[];
    requireJson: Step;
    roles: RoleService;
    audit: AuditStore;
  },
): void {
  const at = (path: string) => path.slice('/api'.length);
  const record = (ctx: Ctx, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId: ctx.state.teamId,
      actorType: ctx.state.caller!.type,
      actorId: ctx.state.caller!.id,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });

  router.get(
    at(R.list.path),
    ...requireCaller('keys:read'),
    guarded(R.list, async (ctx: Ctx) => {
      const data = (await roles.list(ctx.state.teamId)).map(roleView);
      return { total_count: data.length, data, exceeds_total_count: false };
    }),
  );

  router.post(
    at(R.create.path),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.create, async (ctx: Ctx, { body }) => {
      const role = await roles.create(ctx.state.teamId, body);
      await record(ctx, 'role.create', { role_id: role.id, permissions: role.permissions });
      return roleView(role);
    }),
  );

  router.patch(
    at(R.update.path),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.update, async (ctx: Ctx, { body, params }) => {
      const role = await roles.update(ctx.state.teamId, String(params.role), body);
      await record(ctx, 'role.update', { role_id: role.id, fields: Object.keys(body) });
      return roleView(role);
    }),
  );

  router.delete(
    at(R.remove.path),
    ...requireCaller('keys:manage'),
    guarded(R.remove, async (ctx: Ctx, { params }) => {
      await roles.remove(ctx.state.teamId, String(params.role));
      await record(ctx, 'role.remove', { role_id: String(params.role) });
    }),
  );
}
