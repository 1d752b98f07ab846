import type Router from '@koa/router';
import type { AuditStore } from '../audit/audit.js';
import type { Config } from '../config.js';
import { createKeyFromForm } from '../clients/key-input.js';
import type { ClientService } from '../clients/service.js';
import type { ClientStore } from '../clients/store.js';
import { InvalidRequest, NotFound } from '../errors.js';
import type { WebhookStore } from '../events/webhooks.js';
import { checkShareTtl } from '../shares/share-links.js';
import type { ExternalTeamStore } from '../teams/external-people.js';
import type { TeamService } from '../teams/service.js';
import type { TeamStore } from '../teams/store.js';
import { staffMay } from '../access/staff-access.js';
import { findTeams } from './find-teams.js';
import type { Ctx, Kit, State } from './kit.js';
import { linkPage, searchPage, teamPage } from './team-pages.js';

export interface TeamRouteDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly externalTeams: ExternalTeamStore;
  readonly clients: ClientStore;
  readonly teamService: TeamService;
  readonly clientService: ClientService;
  readonly audit: AuditStore;
  readonly webhookStore: WebhookStore;
}

const GRACES = new Set([0, 3600, 86_400, 604_800]);

/** Find a team, see it whole, and the runbook's procedures on its keys (issue 29 items 2 and 3). */
export function installTeamRoutes(router: Router<State>, kit: Kit, deps: TeamRouteDeps): void {
  const { config, teams, teamService, clientService, audit, webhookStore } = deps;
  const { form, requireStaff, checkCsrf, allow, requireReason, render, field, record } = kit;

  const linkLifetime = (ctx: Ctx) => checkShareTtl(Number(field(ctx, 'link_ttl') || 86_400));

  async function showTeam(ctx: Ctx, teamId: number) {
    const team = await teamService.getTeam(teamId);
    const [members, keys, hooks, events] = await Promise.all([
      teams.listMembers(team.id),
      clientService.list(team.id, { limit: 1000, offset: 0 }),
      webhookStore.listEndpoints(team.id),
      audit.listByTeam(team.id, { limit: 30, offset: 0 }),
    ]);
    const role = ctx.state.staff!.role;
    render(
      ctx,
      200,
      `Team ${team.name}`,
      teamPage({
        csrf: ctx.state.csrf!,
        team,
        plan: teamService.planOf(team),
        plans: Object.keys(config.plans),
        members,
        keys: keys.data,
        hooks,
        events: events.events,
        keyPrefix: config.keyPrefix,
        mayChangeKeys: staffMay(role, 'keys:change'),
        mayChangePlan: staffMay(role, 'plan:change'),
      }),
    );
  }

  /** The key in the path and its team; a key of no team (a resource server) is not the console's. */
  async function teamKey(ctx: Ctx) {
    const client = await clientService.get(ctx.params.id ?? '').catch(() => undefined);
    if (!client || client.teamId === null) throw new NotFound('There is no such key.');
    return { client, teamId: client.teamId };
  }

  router.get('/teams', requireStaff, allow('look'), async (ctx) => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q : '';
    const found = q ? await findTeams(deps, q) : [];
    render(ctx, 200, 'Find a team', searchPage({ q, found, searched: q !== '' }));
  });

  router.get('/teams/:team', requireStaff, allow('look'), async (ctx) => {
    const id = Number(ctx.params.team);
    if (!Number.isInteger(id) || id <= 0) throw new NotFound('There is no such team.');
    await showTeam(ctx, id);
  });

  /**
   * The runbook's three procedures: a service account, a JWT service account from the customer's
   * public key, an OAuth app. The client service checks every rule (plan with API access, key limit,
   * the public key), as for the CLI and the admin API; the secret goes out in a one-time link.
   */
  router.post('/teams/:team/keys', form, requireStaff, checkCsrf, allow('keys:change'), requireReason, async (ctx) => {
    const teamId = Number(ctx.params.team);
    const team = await teamService.getTeam(teamId);
    const ttlSeconds = linkLifetime(ctx);
    const requestedBy = field(ctx, 'requested_by').trim();
    if (!requestedBy) throw new InvalidRequest('requested_by', 'name the team admin who asked for the key (email)');
    await teamService.requireAdmin(team.id, requestedBy);
    const created = await createKeyFromForm(
      clientService,
      team.id,
      (name) => (name === 'environment' ? field(ctx, name) || 'prod' : field(ctx, name)),
      (name) => kit.fields(ctx, name),
    );
    const answer = await clientService.handOver(created, created.clientSecret ? { ttlSeconds } : undefined);
    ctx.status = 201;
    await record(ctx, 'client.create', team.id, created.client.client_id, {
      kind: created.client.kind,
      name: created.client.name,
      requested_by: requestedBy,
    });
    render(
      ctx,
      201,
      'Key created',
      linkPage({ teamId: team.id, key: created.client, shareUrl: answer.share_url, ttlSeconds }),
    );
  });

  router.post('/keys/:id/revoke', form, requireStaff, checkCsrf, allow('keys:change'), requireReason, async (ctx) => {
    const { client, teamId } = await teamKey(ctx);
    await clientService.revoke(client.clientId);
    await record(ctx, 'client.revoke', teamId, client.clientId);
    ctx.status = 303;
    ctx.redirect(`/console/teams/${teamId}`);
  });

  /** A new secret in a new one-time link; `grace` 0 is "resend the link" (the old link and secret stop). */
  router.post('/keys/:id/rotate', form, requireStaff, checkCsrf, allow('keys:change'), requireReason, async (ctx) => {
    const { client, teamId } = await teamKey(ctx);
    if (client.kind !== 'service_account' && client.kind !== 'app')
      throw new InvalidRequest('id', 'this key has no secret: it authenticates with its public key');
    const grace = Number(field(ctx, 'grace') || 0);
    if (!GRACES.has(grace)) throw new InvalidRequest('grace', 'choose 0, 1 hour, 24 hours or 7 days');
    const ttlSeconds = linkLifetime(ctx);
    const rotated = await clientService.regenerateSecret(client.clientId, { gracePeriodSeconds: grace });
    const answer = await clientService.handOver(rotated, { ttlSeconds });
    await record(ctx, 'client.secret.regenerate', teamId, client.clientId, {
      grace_period_seconds: grace,
      resend: field(ctx, 'resend') === '1',
    });
    render(ctx, 200, 'New link', linkPage({ teamId, key: rotated.client, shareUrl: answer.share_url, ttlSeconds }));
  });

  router.post('/teams/:team/plan', form, requireStaff, checkCsrf, allow('plan:change'), requireReason, async (ctx) => {
    const teamId = Number(ctx.params.team);
    const { team, previous } = await teamService.changePlan({ teamId, plan: field(ctx, 'plan') });
    await record(ctx, 'team.plan.change', team.id, null, { plan: team.plan, previous });
    ctx.status = 303;
    ctx.redirect(`/console/teams/${team.id}`);
  });
}
