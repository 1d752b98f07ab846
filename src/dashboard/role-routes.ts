import type Router from '@koa/router';
import type { RoleService } from '../clients/roles.js';
import { KeyportError } from '../errors.js';
import { listOf } from './key-permissions.js';
import type { Ctx, Kit, State } from './kit.js';
import { rolesPage } from './role-pages.js';

/**
 * The team's roles (issue 28 item 2): everyone of the team sees them, admins
 * make, change and delete the team's own, as in the admin API (`role.create`,
 * `role.update`, `role.remove` audited, `via: dashboard`). Every rule is the role
 * service's: a product role cannot be changed, another team's is 404.
 */
export function installRoleRoutes(router: Router<State>, kit: Kit, deps: { roles: RoleService }): void {
  const { roles } = deps;
  const { form, requireSession, checkCsrf, allow, render, field } = kit;
  const teamOf = (ctx: Ctx) => ctx.state.session!.teamId;

  const page = async (ctx: Ctx, status: number, failed?: Parameters<typeof rolesPage>[0]['failed']) =>
    render(
      ctx,
      status,
      'Roles',
      rolesPage({
        csrf: ctx.state.viewer!.csrf,
        admin: ctx.state.viewer!.admin,
        roles: await roles.list(teamOf(ctx)),
        failed,
      }),
      '/dashboard/roles',
    );

  /** A refusal of the form (a bad name or permission) is said on the page, with what was typed. */
  const orAgain = async (ctx: Ctx, role: string | undefined, act: () => Promise<unknown>) => {
    try {
      await act();
    } catch (err) {
      if (err instanceof KeyportError && err.status === 400)
        return page(ctx, 400, {
          role,
          name: field(ctx, 'name'),
          permissions: field(ctx, 'permissions'),
          error: err.message,
        });
      throw err;
    }
    ctx.status = 303;
    ctx.redirect('/dashboard/roles');
  };

  router.get('/roles', requireSession, allow('keys:read'), (ctx) => page(ctx, 200));

  router.post('/roles', form, requireSession, checkCsrf, allow('keys:manage'), (ctx) =>
    orAgain(ctx, undefined, async () => {
      const role = await roles.create(teamOf(ctx), {
        name: field(ctx, 'name'),
        permissions: listOf(field(ctx, 'permissions')),
      });
      // The row says what was answered (303), as every other dashboard change's does.
      ctx.status = 303;
      await kit.record(ctx, 'role.create', null, {
        role_id: role.id,
        permissions: role.permissions,
        via: 'dashboard',
      });
    }),
  );

  router.post('/roles/:role', form, requireSession, checkCsrf, allow('keys:manage'), (ctx) =>
    orAgain(ctx, ctx.params.role, async () => {
      const role = await roles.update(teamOf(ctx), String(ctx.params.role), {
        name: field(ctx, 'name'),
        permissions: listOf(field(ctx, 'permissions')),
      });
      // The row says what was answered (303), as every other dashboard change's does.
      ctx.status = 303;
      await kit.record(ctx, 'role.update', null, {
        role_id: role.id,
        fields: ['name', 'permissions'],
        via: 'dashboard',
      });
    }),
  );

  router.post('/roles/:role/delete', form, requireSession, checkCsrf, allow('keys:manage'), async (ctx) => {
    await roles.remove(teamOf(ctx), String(ctx.params.role));
    ctx.status = 303;
    await kit.record(ctx, 'role.remove', null, { role_id: String(ctx.params.role), via: 'dashboard' });
    ctx.redirect('/dashboard/roles');
  });
}
