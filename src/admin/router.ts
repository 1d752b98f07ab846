import Router, { type RouterContext } from '@koa/router';
import { parseBody } from '../web/body.js';
import type Koa from 'koa';
import type { ClientService } from '../clients/service.js';
import { kidOfJwk, normalizePublicKey, pemFromJwk } from '../clients/public-keys.js';
import { InvalidRequest, NotFound } from '../errors.js';
import { CHOSEN_SECRET_NOTE, withOctaneNames } from './answers.js';
import { octaneKeyOf } from './octane.js';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { CallerAuth } from '../access/callers.js';
import { createCallerSteps } from './caller-steps.js';
import type { AuditStreams } from '../audit/audit-stream.js';
import { addAuditStream } from './event-stream.js';
import { adminErrors } from './error-handler.js';
import type { AdminState } from './state.js';
import { adminOpenApi } from './openapi.js';
import { ADMIN_ROUTES as R } from './routes.js';
import type { NewClientBody } from './schemas.js';
import { guarded, type RouteDeclaration } from '../web/route.js';
import type { KeyUsage } from '../clients/key-usage.js';
import type { ShareLinks } from '../shares/share-links.js';
import type { TeamService } from '../teams/service.js';
import { installTeamRoutes } from './team-router.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import { addWebhookRoutes } from './webhook-router.js';
import type { RoleService } from '../clients/roles.js';
import { addRoleRoutes } from './role-router.js';
import type { TeamSync } from '../teams/sync.js';
import { installSyncRoutes } from './sync-router.js';
import { installSyncTokenRoutes } from './sync-token-router.js';
import type { SyncTokens } from '../teams/sync-tokens.js';
import type { LeakStore } from '../clients/leak-store.js';

export interface AdminDeps {
  readonly callers: CallerAuth;
  readonly plans: PlanLimits;
  readonly clientService: ClientService;
  readonly audit: AuditStore;
  /** Unknown tokens count per source address with failed client authentications. */
  readonly failures: AuthFailures;
  readonly keyUsage: KeyUsage;
  readonly shares: ShareLinks;
  /** The operator's product-wide audit stream (one per process, across signing-key reloads). */
  readonly auditStreams?: AuditStreams;
  /** The operator's team and people routes (team-router.ts). */
  readonly teamService: TeamService;
  /** The product's sync routes (sync-router.ts). */
  readonly teamSync: TeamSync;
  /** The operator's sync tokens (sync-token-router.ts); absent: the routes are not mounted. */
  readonly syncTokens?: SyncTokens;
  /** Other surfaces' declared routes (/keys), documented in /api/openapi.json beside the admin API's. */
  readonly documentedRoutes?: readonly RouteDeclaration[];
  /** Webhook endpoints of teams and the operator (docs/contract.md, Webhooks). */
  readonly webhooks?: WebhookEndpoints;
  /** Teams' choice for leaked keys (PUT /api/teams/:team/leaked-keys). */
  readonly leakStore?: Pick<LeakStore, 'setAction'>;
  /** A team's roles (issue 28 item 2, role-router.ts). */
  readonly roles?: RoleService;
}

type Ctx = RouterContext<AdminState>;

/** The admin API of docs/contract.md, mounted at /api. */
export function createAdminRouter({
  callers,
  plans,
  clientService,
  audit,
  failures,
  keyUsage,
  shares,
  auditStreams,
  teamService,
  teamSync,
  syncTokens,
  documentedRoutes = [],
  webhooks,
  leakStore,
  roles,
}: AdminDeps): Router<AdminState> {
  const router = new Router<AdminState>({ prefix: '/api' });

  const requireCaller = createCallerSteps({ callers, plans, failures });

  /** The client named in the path, if it belongs to the team in the path; else 404. */
  async function teamClient(ctx: Ctx) {
    const client = await clientService.get(ctx.params.client_id ?? '').catch(() => undefined);
    if (!client || client.teamId !== ctx.state.teamId) throw new NotFound('not found');
    return client;
  }

  const record = (ctx: Ctx, action: AuditAction, clientId: string, details?: Record<string, unknown>) =>
    audit.record({
      teamId: ctx.state.teamId,
      actorType: ctx.state.caller!.type,
      actorId: ctx.state.caller!.id,
      action,
      clientId,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });

  const json = parseBody({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });

  async function requireJson(ctx: Ctx, next: Koa.Next) {
    const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && !ctx.is('application/json')) throw new InvalidRequest('content-type', 'must be application/json');
    await json(ctx as unknown as Parameters<typeof json>[0], next);
  }

  const secretAnswer = (ctx: Ctx) => ctx.set('Cache-Control', 'no-store');

  router.use(adminErrors(audit));

  const document = adminOpenApi(documentedRoutes);
  /** `router.get(…)` etc. at a declared route's path, with Koa's path relative to the prefix. */
  const at = (route: RouteDeclaration) => route.path.slice('/api'.length);

  router.get(
    at(R.openApi),
    guarded(R.openApi, () => document),
  );

  installSyncRoutes(router, { steps: requireCaller('sync'), requireJson, teamSync, audit });
  if (syncTokens) installSyncTokenRoutes(router, { operator: requireCaller('operator'), requireJson, syncTokens });
  installTeamRoutes(router, { operator: requireCaller('operator'), requireJson, teamService, audit, leakStore });

  router.post(
    at(R.createClient),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.createClient, async (ctx: Ctx, { body: input }) => {
      const octane = octaneKeyOf(input);
      const created = octane
        ? await clientService.createServiceAccount({ teamId: ctx.state.teamId, ...octane })
        : await createClient(clientService, ctx.state.teamId, input);
      secretAnswer(ctx);
      const answer = await clientService.handOver(created, shareOptions('share' in input ? input.share : undefined));
      await record(ctx, 'client.create', created.client.client_id, {
        kind: created.client.kind,
        name: created.client.name,
        scopes: created.client.scopes,
      });
      const chosen = octane ? octane.clientSecret !== undefined : 'client_secret' in input && !!input.client_secret;
      const view = { ...withOctaneNames(answer), ...(chosen ? { client_secret_note: CHOSEN_SECRET_NOTE } : {}) };
      return octane ? { total_count: 1, data: [view], exceeds_total_count: false } : view;
    }),
  );

  router.get(
    at(R.listClients),
    ...requireCaller('keys:read'),
    guarded(R.listClients, async (ctx: Ctx, { query }) => {
      const page = await clientService.list(ctx.state.teamId, query);
      return { ...page, data: page.data.map(withOctaneNames) };
    }),
  );

  router.get(
    at(R.getClient),
    ...requireCaller('keys:read'),
    guarded(R.getClient, async (ctx: Ctx) => {
      const client = await teamClient(ctx);
      const link = (await shares.latest([client.clientId])).get(client.clientId);
      return { ...withOctaneNames(clientService.view(client)), ...(link ? { share: link } : {}) };
    }),
  );

  router.patch(
    at(R.updateClient),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.updateClient, async (ctx: Ctx, { body: changes }) => {
      const client = await teamClient(ctx);
      const credits =
        changes.credits === undefined
          ? undefined
          : changes.credits === null
            ? null
            : { remaining: changes.credits.remaining, refill: changes.credits.refill ?? null };
      const answer = await clientService.update(client.clientId, {
        name: changes.name,
        scopes: changes.scopes,
        isValid: changes.is_valid,
        credits,
        meta: changes.meta,
        permissions: changes.permissions,
        roles: changes.roles,
        allowedIps: changes.allowed_ips,
      });
      await record(ctx, changes.is_valid === false ? 'client.revoke' : 'client.update', client.clientId, {
        fields: Object.keys(changes),
      });
      return withOctaneNames(answer);
    }),
  );

  router.put(
    at(R.replaceClient),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.replaceClient, async (ctx: Ctx, { body: input }) => {
      const client = await teamClient(ctx);
      if (!input.is_valid) {
        if (input.client_secret !== undefined) throw new InvalidRequest('client_secret', 'only with is_valid: true');
        const answer = await clientService.revoke(client.clientId);
        await record(ctx, 'client.revoke', client.clientId, { fields: ['is_valid'] });
        return withOctaneNames(answer);
      }
      const created = await clientService.regenerateSecret(client.clientId, { clientSecret: input.client_secret });
      secretAnswer(ctx);
      const answer = await clientService.handOver(created, undefined);
      await record(ctx, 'client.secret.regenerate', client.clientId, {
        grace_period_seconds: 0,
        chosen: input.client_secret !== undefined,
      });
      const note = input.client_secret !== undefined ? { client_secret_note: CHOSEN_SECRET_NOTE } : {};
      return { ...withOctaneNames(answer), ...note };
    }),
  );

  router.get(
    at(R.usage),
    ...requireCaller('keys:read'),
    guarded(R.usage, async (ctx: Ctx, { query: range }) => {
      const client = await teamClient(ctx);
      const now = Math.floor(Date.now() / 1000);
      return keyUsage.read(client.clientId, {
        from: range.from ?? now - 7 * 86_400,
        to: range.to ?? now,
        granularity: range.granularity,
      });
    }),
  );

  router.post(
    at(R.addPublicKey),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.addPublicKey, async (ctx: Ctx, { body: input }) => {
      const client = await teamClient(ctx);
      const pem = typeof input.public_key === 'string' ? input.public_key : pemFromJwk(input.public_key);
      const kid = await clientService.addPublicKey(
        client.clientId,
        pem,
        input.kid ?? (typeof input.public_key === 'string' ? undefined : kidOfJwk(input.public_key)),
      );
      await record(ctx, 'client.key.add', client.clientId, { kid });
      return { kid };
    }),
  );

  router.delete(
    at(R.removePublicKey),
    ...requireCaller('keys:manage'),
    guarded(R.removePublicKey, async (ctx: Ctx, { params }) => {
      const client = await teamClient(ctx);
      await clientService.removePublicKey(client.clientId, params.kid);
      await record(ctx, 'client.key.remove', client.clientId, { kid: params.kid });
    }),
  );

  router.post(
    at(R.regenerateSecret),
    ...requireCaller('keys:manage'),
    requireJson,
    guarded(R.regenerateSecret, async (ctx: Ctx, { body: input }) => {
      const client = await teamClient(ctx);
      const created = await clientService.regenerateSecret(client.clientId, {
        clientSecret: input.client_secret,
        gracePeriodSeconds: input.grace_period_seconds,
      });
      secretAnswer(ctx);
      const answer = await clientService.handOver(created, shareOptions(input.share));
      await record(ctx, 'client.secret.regenerate', client.clientId, {
        grace_period_seconds: input.grace_period_seconds ?? 0,
        chosen: input.client_secret !== undefined,
      });
      const note = input.client_secret !== undefined ? { client_secret_note: CHOSEN_SECRET_NOTE } : {};
      return { ...withOctaneNames(answer), ...note };
    }),
  );

  router.delete(
    at(R.revokeClient),
    ...requireCaller('keys:manage'),
    guarded(R.revokeClient, async (ctx: Ctx) => {
      const client = await teamClient(ctx);
      await clientService.revoke(client.clientId);
      await record(ctx, 'client.revoke', client.clientId);
    }),
  );

  router.get(
    at(R.events),
    ...requireCaller('audit:read'),
    guarded(R.events, async (ctx: Ctx, { query: page }) => {
      const { total, events } = await audit.listByTeam(ctx.state.teamId, page);
      return { total_count: total, data: events, exceeds_total_count: page.offset + events.length < total };
    }),
  );

  if (webhooks) addWebhookRoutes(router, { requireCaller, requireJson, endpoints: webhooks, audit });

  if (roles) addRoleRoutes(router, { requireCaller, requireJson, roles, audit });

  if (auditStreams) addAuditStream(router, { operatorSteps: requireCaller('operator'), streams: auditStreams });

  return router;
}

const shareOptions = (share: { ttl_seconds?: number; revoke_if_unopened?: boolean } | undefined) =>
  share ? { ttlSeconds: share.ttl_seconds, revokeIfUnopened: share.revoke_if_unopened } : undefined;

const creditsOf = (
  credits: { remaining: number; refill?: { interval: 'day' | 'month'; amount: number } | null } | null | undefined,
) => (credits ? { remaining: credits.remaining, refill: credits.refill ?? null } : null);

function createClient(clients: ClientService, teamId: number, input: NewClientBody) {
  switch (input.kind) {
    case 'service_account':
      return clients.createServiceAccount({
        teamId,
        name: input.name,
        environment: input.environment,
        expiresInDays: input.expires_in_days,
        scopes: input.scopes,
        clientSecret: input.client_secret,
        credits: creditsOf(input.credits),
        meta: input.meta,
        permissions: input.permissions,
        roles: input.roles,
        allowedIps: input.allowed_ips ?? undefined,
      });
    case 'service_account_jwt': {
      const pem = typeof input.public_key === 'string' ? input.public_key : pemFromJwk(input.public_key);
      // A JWK's kid is kept: libraries put it in the assertion's header.
      const kid = typeof input.public_key === 'string' ? undefined : kidOfJwk(input.public_key);
      return clients.createServiceAccount({
        teamId,
        name: input.name,
        environment: input.environment,
        expiresInDays: input.expires_in_days,
        scopes: input.scopes,
        publicKeyPem: normalizePublicKey(pem),
        publicKeyKid: kid,
        credits: creditsOf(input.credits),
        meta: input.meta,
        permissions: input.permissions,
        roles: input.roles,
        allowedIps: input.allowed_ips ?? undefined,
      });
    }
    case 'app':
      return clients.createApp({
        teamId,
        name: input.name,
        scopes: input.scopes,
        redirectUris: input.redirect_uris,
        meta: input.meta,
        permissions: input.permissions,
        roles: input.roles,
        allowedIps: input.allowed_ips ?? undefined,
      });
  }
}
