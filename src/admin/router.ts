import Router, { type RouterContext } from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import type { ClientService } from '../clients/service.js';
import { kidOfJwk, normalizePublicKey, pemFromJwk } from '../clients/public-keys.js';
import { InvalidRequest, NotFound } from '../errors.js';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { CallerAuth } from '../access/callers.js';
import { createCallerSteps } from './caller-steps.js';
import { adminErrors } from './error-handler.js';
import type { AdminState } from './state.js';
import { OPENAPI } from './openapi.js';
import {
  clientChangesSchema,
  newClientSchema,
  newPublicKeySchema,
  newSecretSchema,
  pageSchema,
  parse,
  usageRangeSchema,
  type NewClientBody,
} from './schemas.js';
import type { KeyUsage } from '../clients/key-usage.js';
import type { ShareLinks } from '../shares/share-links.js';

export interface AdminDeps {
  readonly callers: CallerAuth;
  readonly plans: PlanLimits;
  readonly clientService: ClientService;
  readonly audit: AuditStore;
  /** Unknown tokens count per source address with failed client authentications. */
  readonly failures: AuthFailures;
  readonly keyUsage: KeyUsage;
  readonly shares: ShareLinks;
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

  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });

  async function requireJson(ctx: Ctx, next: Koa.Next) {
    const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && !ctx.is('application/json')) throw new InvalidRequest('content-type', 'must be application/json');
    await json(ctx as unknown as Parameters<typeof json>[0], next);
  }

  const body = (ctx: Ctx): unknown => (ctx.request as unknown as { body?: unknown }).body ?? {};
  const secretAnswer = (ctx: Ctx) => ctx.set('Cache-Control', 'no-store');

  router.use(adminErrors(audit));

  router.get('/openapi.json', (ctx) => {
    ctx.body = OPENAPI;
  });

  router.post('/teams/:team/clients', ...requireCaller('keys:manage'), requireJson, async (ctx) => {
    const input = parse(newClientSchema, body(ctx));
    const created = await createClient(clientService, ctx.state.teamId, input);
    ctx.status = 201;
    secretAnswer(ctx);
    ctx.body = await clientService.handOver(created, shareOptions('share' in input ? input.share : undefined));
    await record(ctx, 'client.create', created.client.client_id, {
      kind: created.client.kind,
      name: created.client.name,
      scopes: created.client.scopes,
    });
  });

  router.get('/teams/:team/clients', ...requireCaller('keys:read'), async (ctx) => {
    const page = parse(pageSchema, ctx.query);
    ctx.body = await clientService.list(ctx.state.teamId, page);
  });

  router.get('/teams/:team/clients/:client_id', ...requireCaller('keys:read'), async (ctx) => {
    const client = await teamClient(ctx);
    const link = (await shares.latest([client.clientId])).get(client.clientId);
    ctx.body = { ...clientService.view(client), ...(link ? { share: link } : {}) };
  });

  router.patch('/teams/:team/clients/:client_id', ...requireCaller('keys:manage'), requireJson, async (ctx) => {
    const changes = parse(clientChangesSchema, body(ctx));
    const client = await teamClient(ctx);
    const credits =
      changes.credits === undefined
        ? undefined
        : changes.credits === null
          ? null
          : { remaining: changes.credits.remaining, refill: changes.credits.refill ?? null };
    ctx.body = await clientService.update(client.clientId, {
      name: changes.name,
      scopes: changes.scopes,
      isValid: changes.is_valid,
      credits,
    });
    await record(ctx, changes.is_valid === false ? 'client.revoke' : 'client.update', client.clientId, {
      fields: Object.keys(changes),
    });
  });

  router.get('/teams/:team/clients/:client_id/usage', ...requireCaller('keys:read'), async (ctx) => {
    const range = parse(usageRangeSchema, ctx.query);
    const client = await teamClient(ctx);
    const now = Math.floor(Date.now() / 1000);
    ctx.body = await keyUsage.read(client.clientId, {
      from: range.from ?? now - 7 * 86_400,
      to: range.to ?? now,
      granularity: range.granularity,
    });
  });

  router.post('/teams/:team/clients/:client_id/keys', ...requireCaller('keys:manage'), requireJson, async (ctx) => {
    const input = parse(newPublicKeySchema, body(ctx));
    const client = await teamClient(ctx);
    const pem = typeof input.public_key === 'string' ? input.public_key : pemFromJwk(input.public_key);
    const kid = await clientService.addPublicKey(
      client.clientId,
      pem,
      input.kid ?? (typeof input.public_key === 'string' ? undefined : kidOfJwk(input.public_key)),
    );
    ctx.status = 201;
    ctx.body = { kid };
    await record(ctx, 'client.key.add', client.clientId, { kid });
  });

  router.delete('/teams/:team/clients/:client_id/keys/:kid', ...requireCaller('keys:manage'), async (ctx) => {
    const client = await teamClient(ctx);
    await clientService.removePublicKey(client.clientId, ctx.params.kid ?? '');
    ctx.status = 204;
    await record(ctx, 'client.key.remove', client.clientId, { kid: ctx.params.kid });
  });

  router.post('/teams/:team/clients/:client_id/secret', ...requireCaller('keys:manage'), requireJson, async (ctx) => {
    const input = parse(newSecretSchema, body(ctx));
    const client = await teamClient(ctx);
    const created = await clientService.regenerateSecret(client.clientId, {
      clientSecret: input.client_secret,
      gracePeriodSeconds: input.grace_period_seconds,
    });
    secretAnswer(ctx);
    ctx.body = await clientService.handOver(created, shareOptions(input.share));
    await record(ctx, 'client.secret.regenerate', client.clientId, {
      grace_period_seconds: input.grace_period_seconds ?? 0,
      chosen: input.client_secret !== undefined,
    });
  });

  router.delete('/teams/:team/clients/:client_id', ...requireCaller('keys:manage'), async (ctx) => {
    const client = await teamClient(ctx);
    await clientService.revoke(client.clientId);
    ctx.status = 204;
    await record(ctx, 'client.revoke', client.clientId);
  });

  router.get('/teams/:team/events', ...requireCaller('audit:read'), async (ctx) => {
    const page = parse(pageSchema, ctx.query);
    const { total, events } = await audit.listByTeam(ctx.state.teamId, page);
    ctx.body = { total_count: total, data: events, exceeds_total_count: page.offset + events.length < total };
  });

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
      });
    }
    case 'app':
      return clients.createApp({ teamId, name: input.name, scopes: input.scopes, redirectUris: input.redirect_uris });
  }
}
