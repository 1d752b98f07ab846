import type Router from '@koa/router';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { SyncOutcome, TeamSync } from '../teams/sync.js';
import { syncedMemberView as memberView, syncedTeamView as teamView } from '../teams/sync-views.js';
import { guarded } from '../web/route.js';
import type { AdminState } from './state.js';
import { SYNC_ROUTES as R } from './sync-routes.js';

type Ctx = RouterContext<AdminState>;

/**
 * The product's sync routes (sync-routes.ts) on the admin router, for the operator or a sync
 * token; each real change audited as the caller (actor `operator`, or `sync_token` and its id), a repeat not.
 */
export function installSyncRoutes(
  router: Router<AdminState>,
  {
    steps,
    requireJson,
    teamSync,
    audit,
  }: {
    steps: readonly RouterMiddleware<AdminState>[];
    requireJson: RouterMiddleware<AdminState>;
    teamSync: TeamSync;
    audit: AuditStore;
  },
): void {
  const at = (route: { path: string }) => route.path.slice('/api'.length);
  const record = (ctx: Ctx, teamId: number, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId,
      actorType: ctx.state.caller!.type,
      actorId: ctx.state.caller!.id,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });
  /** 201 for a creation: guarded() answers the declared 200 only, so the body is checked here the same way. */
  const answer = <T>(ctx: Ctx, outcome: SyncOutcome, schema: { parse(v: unknown): T }, body: T) => {
    if (outcome !== 'created') return body;
    ctx.status = 201;
    ctx.body = schema.parse(body);
    return body;
  };

  router.put(
    at(R.putTeam),
    ...steps,
    requireJson,
    guarded(R.putTeam, async (ctx: Ctx, { params, body }) => {
      const { team, outcome } = await teamSync.putTeam({ externalId: params.ext, name: body.name, plan: body.plan });
      if (outcome === 'created') ctx.status = 201;
      if (outcome !== 'unchanged')
        await record(ctx, team.id, 'team.sync', {
          external_id: params.ext,
          name: team.name,
          plan: team.plan,
          created: outcome === 'created',
        });
      return answer(ctx, outcome, R.putTeam.response, teamView(team, params.ext));
    }),
  );

  router.delete(
    at(R.suspendTeam),
    ...steps,
    guarded(R.suspendTeam, async (ctx: Ctx, { params }) => {
      const { team, outcome } = await teamSync.suspendTeam(params.ext);
      if (outcome !== 'unchanged') await record(ctx, team.id, 'team.suspend', { external_id: params.ext });
    }),
  );

  router.put(
    at(R.putMember),
    ...steps,
    requireJson,
    guarded(R.putMember, async (ctx: Ctx, { params, body }) => {
      const { member, outcome } = await teamSync.putMember({
        teamExternalId: params.ext,
        externalId: params.ext_user,
        email: body.email,
        role: body.role,
      });
      if (outcome === 'created') ctx.status = 201;
      if (outcome !== 'unchanged')
        await record(ctx, member.team.id, 'member.sync', {
          user_id: member.user.id,
          external_id: params.ext_user,
          email: member.user.email,
          role: member.role,
          created: outcome === 'created',
        });
      return answer(ctx, outcome, R.putMember.response, memberView(member, params.ext));
    }),
  );

  router.delete(
    at(R.removeMember),
    ...steps,
    guarded(R.removeMember, async (ctx: Ctx, { params }) => {
      const { team, outcome, user } = await teamSync.removeMember({
        teamExternalId: params.ext,
        externalId: params.ext_user,
      });
      if (outcome !== 'unchanged')
        await record(ctx, team.id, 'member.remove', {
          user_id: user!.id,
          email: user!.email,
          external_id: params.ext_user,
        });
    }),
  );
}
