import type Router from '@koa/router';
import type { Config } from '../config.js';
import type { ClientService, CreatedClient } from '../clients/service.js';
import { InvalidRequest, KeyportError } from '../errors.js';
import type { TeamService } from '../teams/service.js';
import { planLimitsFor } from '../teams/plans.js';
import { inList, keysPage } from './key-list.js';
import { createKeyFromForm } from '../clients/key-input.js';
import type { Ctx, Kit, State } from './kit.js';
import { chooseKindPage, formKindOf, newKeyPage, titleOfKind, type FormKind } from './new-key-page.js';
import { secretPanel } from './pages.js';
import { graceOf, rotatePage } from './rotate-page.js';

const PAGE_SIZE = 20;

/** The keys list, the two steps of a new key, and the rotation with its confirmation. */
export function installKeyRoutes(
  router: Router<State>,
  kit: Kit,
  deps: { config: Config; teamService: TeamService; clientService: ClientService },
): void {
  const { config, teamService, clientService } = deps;
  const { form, requireSession, checkCsrf, allow, spendNonce, render, field, fields } = kit;

  router.get('/keys', requireSession, allow('keys:read'), async (ctx) => {
    const { session, viewer } = ctx.state;
    const team = await teamService.getTeam(session!.teamId);
    const plan = teamService.planOf(team);
    const all = (await clientService.list(team.id, { limit: 1000, offset: 0 })).data.map(kit.decorate);
    const q = String(ctx.query.q ?? '')
      .trim()
      .toLowerCase()
      .slice(0, 100);
    const status = typeof ctx.query.status === 'string' ? ctx.query.status : '';
    const environment = typeof ctx.query.environment === 'string' ? ctx.query.environment : undefined;
    const matching = all.filter(
      (k) =>
        inList(k, status) &&
        (!environment || k.environment === environment) &&
        (!q ||
          (k.name ?? '').toLowerCase().includes(q) ||
          k.hint.toLowerCase().includes(q) ||
          k.client_id.toLowerCase().includes(q)),
    );
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    const number = Math.min(pages, Math.max(1, Number.parseInt(String(ctx.query.page ?? '1'), 10) || 1));
    const counts = Object.fromEntries(
      ['', 'revoked', 'expired', 'all'].map((tab) => [tab, all.filter((k) => inList(k, tab)).length]),
    );
    render(
      ctx,
      200,
      'API keys',
      keysPage({
        viewer: viewer!,
        keys: matching.slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE),
        counts,
        filters: { status, environment, q },
        page: { number, pages, total: matching.length },
        plan: {
          name: team.plan,
          used: all.filter((k) => k.is_valid).length,
          max: plan.max_keys,
          limits: plan.rate_limits,
          devLimits: planLimitsFor(plan, 'dev'),
          apiAccess: plan.api_access,
          limitPer: plan.limit_per ?? 'key',
        },
      }),
      '/dashboard/keys',
    );
  });

  const keyForm = (ctx: Ctx, status: number, kind: FormKind, extra: { name?: string; error?: string } = {}) =>
    render(
      ctx,
      status,
      titleOfKind(kind),
      newKeyPage({
        kind,
        csrf: ctx.state.viewer!.csrf,
        nonce: kit.newNonce(),
        scopes: config.scopes,
        defaults: config.defaultScopes,
        ...extra,
      }),
    );

  // First the kind (links), then that kind's form: no script needed, no fields of other kinds.
  router.get('/keys/new', requireSession, allow('keys:manage'), async (ctx) => {
    const kind = ctx.query.kind;
    if (kind === undefined) return render(ctx, 200, 'Generate a new key', chooseKindPage());
    keyForm(ctx, 200, formKindOf(String(kind)));
  });

  router.post('/keys', form, requireSession, checkCsrf, allow('keys:manage'), spendNonce, async (ctx) => {
    const kind = formKindOf(field(ctx, 'kind'));
    let created: CreatedClient;
    try {
      created = await createKeyFromForm(
        clientService,
        ctx.state.session!.teamId,
        (name) => field(ctx, name),
        (name) => fields(ctx, name),
      );
    } catch (err) {
      // The plan's key limit and gate, a bad field: said in words, on the form (with a fresh nonce, to send again).
      if (err instanceof KeyportError && err.status < 500 && err.status !== 404)
        return keyForm(ctx, 400, kind, { name: field(ctx, 'name'), error: err.message });
      throw err;
    }
    const answer = await clientService.handOver(
      created,
      field(ctx, 'share') === '1' && created.clientSecret ? {} : undefined,
    );
    ctx.status = 201;
    await kit.record(ctx, 'client.create', created.client.client_id, {
      kind: created.client.kind,
      name: created.client.name,
      via: 'dashboard',
    });
    render(
      ctx,
      201,
      'Key created',
      secretPanel({
        what: 'New key',
        name: created.client.name ?? created.client.client_id,
        clientId: created.client.client_id,
        secret: answer.client_secret,
        shareUrl: answer.share_url,
      }),
    );
  });

  /** Only a key in use with a secret rotates; a public-key account changes its key instead. */
  const secretKey = async (ctx: Ctx) => {
    const client = await kit.teamKey(ctx, 'keys:manage');
    if (client.kind !== 'service_account' && client.kind !== 'app')
      throw new InvalidRequest('id', 'this key has no secret to rotate: it authenticates with its public key');
    return client;
  };

  router.get('/keys/:id/rotate', requireSession, allow('keys:manage'), async (ctx) => {
    const client = await secretKey(ctx);
    render(
      ctx,
      200,
      'Rotate the secret?',
      rotatePage({ key: clientService.view(client), csrf: ctx.state.viewer!.csrf, nonce: kit.newNonce() }),
    );
  });

  /** The grace period is read before the nonce is spent: a wrong one changes nothing, and the form works again. */
  async function parseGrace(ctx: Ctx, next: () => Promise<unknown>) {
    graceOf(field(ctx, 'grace'));
    await next();
  }

  router.post(
    '/keys/:id/rotate',
    form,
    requireSession,
    checkCsrf,
    allow('keys:manage'),
    parseGrace,
    spendNonce,
    async (ctx) => {
      const client = await secretKey(ctx);
      const grace = graceOf(field(ctx, 'grace'));
      const rotated = await clientService.regenerateSecret(client.clientId, { gracePeriodSeconds: grace });
      await kit.record(ctx, 'client.secret.regenerate', client.clientId, {
        grace_period_seconds: grace,
        via: 'dashboard',
      });
      render(
        ctx,
        200,
        'Secret rotated',
        secretPanel({
          what: 'New secret',
          name: client.name ?? client.clientId,
          clientId: client.clientId,
          secret: rotated.clientSecret,
        }),
      );
    },
  );
}
