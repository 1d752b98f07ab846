import type Router from '@koa/router';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { TeamService } from '../teams/service.js';
import type { LeakStore } from '../clients/leak-store.js';
import { NotFound } from '../errors.js';
import type { Member } from '../teams/management.js';
import { guarded } from '../web/route.js';
import type { AdminState } from './state.js';
import { TEAM_ROUTES as R } from './team-routes.js';

type Ctx = RouterContext<AdminState>;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

const memberView = ({ user, role, clientId }: Member) => ({
  user_id: user.id,
  kind: user.kind,
  email: user.email,
  name: user.name,
  role,
  ...(clientId ? { client_id: clientId } : {}),
});

/** The operator's team and people routes (team-routes.ts), on the admin router; each change audited as the operator. */
export function installTeamRoutes(
  router: Router<AdminState>,
  {
    operator,
    requireJson,
    teamService,
    audit,
    leakStore,
  }: {
    operator: readonly RouterMiddleware<AdminState>[];
    requireJson: RouterMiddleware<AdminState>;
    teamService: TeamService;
    audit: AuditStore;
    leakStore?: Pick<LeakStore, 'setAction'>;
  },
): void {
  const at = (route: { path: string }) => route.path.slice('/api'.length);
  const record = (ctx: Ctx, teamId: number, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId,
      actorType: 'operator',
      actorId: null,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });

  router.get(
    at(R.listTeams),
    ...operator,
    guarded(R.listTeams, async () => {
      const teams = await teamService.listTeams();
      const data = teams.map((t) => ({ team_id: t.id, name: t.name, plan: t.plan, created_at: iso(t.createdAt) }));
      return { total_count: data.length, data };
    }),
  );

  router.patch(
    at(R.changePlan),
    ...operator,
    requireJson,
    guarded(R.changePlan, async (ctx: Ctx, { params, body }) => {
      const { team, previous } = await teamService.changePlan({ teamId: params.team, plan: body.plan });
      await record(ctx, team.id, 'team.plan.change', { plan: team.plan, previous });
      const plan = teamService.planOf(team);
      return {
        team_id: team.id,
        name: team.name,
        plan: team.plan,
        created_at: iso(team.createdAt),
        previous_plan: previous,
        api_access: plan.api_access,
        max_keys: plan.max_keys,
      };
    }),
  );

  router.put(
    at(R.setLeakedKeyAction),
    ...operator,
    requireJson,
    guarded(R.setLeakedKeyAction, async (ctx: Ctx, { params, body }) => {
      if (!leakStore || !(await leakStore.setAction(params.team, body.action)))
        throw new NotFound(`team ${params.team} not found`);
      await record(ctx, params.team, 'team.leaked_keys.change', { action: body.action });
      return { team_id: params.team, action: body.action };
    }),
  );

  router.get(
    at(R.listMembers),
    ...operator,
    guarded(R.listMembers, async (_ctx: Ctx, { params }) => {
      const data = (await teamService.listMembers(params.team)).map(memberView);
      return { total_count: data.length, data };
    }),
  );

  router.patch(
    at(R.changeRole),
    ...operator,
    requireJson,
    guarded(R.changeRole, async (ctx: Ctx, { params, body }) => {
      const person = { userId: params.user_id };
      const { user, previous } = await teamService.changeRole({ teamId: params.team, person, role: body.role });
      await record(ctx, params.team, 'member.role.change', { user_id: user.id, role: body.role, previous });
      return { ...memberView({ user, role: body.role }), previous_role: previous };
    }),
  );

  router.post(
    at(R.resetPassword),
    ...operator,
    requireJson,
    guarded(R.resetPassword, async (ctx: Ctx, { params, body }) => {
      const { user, generated } = await teamService.resetPassword({
        teamId: params.team,
        person: { userId: params.user_id },
        password: body.password,
      });
      ctx.set('Cache-Control', 'no-store');
      await record(ctx, params.team, 'member.password.reset', { user_id: user.id, generated: !!generated });
      return {
        user_id: user.id,
        team_id: params.team,
        email: user.email,
        sessions_ended: true as const,
        ...(generated ? { password: generated } : {}),
      };
    }),
  );

  router.delete(
    at(R.removeMember),
    ...operator,
    guarded(R.removeMember, async (ctx: Ctx, { params }) => {
      const user = await teamService.removeMember({ teamId: params.team, userId: params.user_id });
      await record(ctx, params.team, 'member.remove', { user_id: user.id });
    }),
  );
}
