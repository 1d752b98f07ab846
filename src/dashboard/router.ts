import { randomBytes } from 'node:crypto';
import { restrictionChanges } from './key-restrictions.js';
import Router from '@koa/router';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import { parseBody } from '../web/body.js';
import type Koa from 'koa';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { Config } from '../config.js';
import type { ClientView } from '../clients/client.js';
import type { ClientService } from '../clients/service.js';
import { KeyportError, NotFound } from '../errors.js';
import { formField, formFields } from '../web/form-fields.js';
import { PAGE_HEADERS } from '../web/html.js';
import type { KeyUsage } from '../clients/key-usage.js';
import { createCsrf } from '../web/csrf.js';
import { decide, may, type TeamAction } from '../access/authorize.js';
import type { PasswordSignIn } from '../access/password-sign-in.js';
import { actorOf } from '../access/principal.js';
import type { TeamService } from '../teams/service.js';
import type { TeamStore } from '../teams/store.js';
import { hintOf, keyPage, layout, messagePage, revokePage, signInPage, statusOf } from './pages.js';
import type { DashboardSessions } from './sessions.js';
import { eventsTable, namesFor } from './audit-events.js';
import { installKeyRoutes } from './key-routes.js';
import { installTeamRoutes } from './team-routes.js';
import { installAccountRoutes } from './account.js';
import { installWebhookRoutes } from './webhook-routes.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import { refusalPage } from './refusals.js';
import type { RoleService } from '../clients/roles.js';
import { installRoleRoutes } from './role-routes.js';
import { permissionChanges } from './key-permissions.js';
import type { Ctx, Kit, State } from './kit.js';

export interface DashboardDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly teamService: TeamService;
  readonly clientService: ClientService;
  readonly audit: AuditStore;
  readonly keyUsage: KeyUsage;
  readonly sessions: DashboardSessions;
  readonly passwords: PasswordSignIn;
  /** Key for CSRF tokens (the first cookie key). */
  readonly csrfKey: string;
  /** The team's webhook endpoints (admins only); absent, the page is not offered. */
  readonly webhooks?: WebhookEndpoints;
  /** The roles a key may hold: the product's and the team's own (issue 28 item 2). */
  readonly roles: RoleService;
}

const COOKIE = 'kp_dashboard';
const LOGIN_COOKIE = 'kp_dashboard_login';
const WRONG = 'Wrong email or password.';

/**
 * The team dashboard (docs/contract.md): a team's people sign in with their email
 * and password; admins manage the team's keys, members see them. Pages are
 * server-rendered; every rule is the client service's, as for the CLI and
 * the admin API. The role is read on every request, so a demoted admin loses
 * the buttons and the actions at once; who may do what is access/authorize.ts.
 */
export function createDashboardRouter(deps: DashboardDeps): Router<State> {
  const { config, teams, teamService, clientService, audit, keyUsage, sessions, passwords, csrfKey, roles } = deps;
  const router = new Router<State>({ prefix: '/dashboard' });
  const secure = config.issuer.startsWith('https:');
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    path: '/dashboard',
    signed: false,
    overwrite: true,
  };
  const form = parseBody({ enableTypes: ['form'], formLimit: '64kb' });
  const choices = { product: config.dashboardOidc?.name, passwords: config.dashboardPasswordSignIn };
  const csrf = createCsrf(csrfKey);
  const bodyOf = (ctx: Ctx) => (ctx.request as unknown as { body?: Record<string, unknown> }).body;
  const field = (ctx: Ctx, name: string): string => formField(bodyOf(ctx), name);
  const fields = (ctx: Ctx, name: string): string[] => formFields(bodyOf(ctx), name);

  function render(ctx: Ctx, status: number, title: string, body: Parameters<typeof layout>[2], current = '') {
    ctx.status = status;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    ctx.body = layout(title, ctx.state.viewer, body, current);
  }

  /** Keyport's own errors answer in words, on a page; anything else is a plain 500. */
  async function pages(ctx: Ctx, next: Koa.Next) {
    ctx.state.route = '/dashboard';
    try {
      await next();
    } catch (err) {
      if (err instanceof KeyportError) ctx.set(err.headers());
      if (err instanceof KeyportError)
        return render(
          ctx,
          err.status,
          err.status === 404 ? 'Not found' : 'That did not work',
          messagePage(err.message, true),
        );
      throw err;
    }
  }

  async function requireSession(ctx: Ctx, next: Koa.Next) {
    const session = await sessions.find(ctx.cookies.get(COOKIE));
    const membership = session && (await teams.findMembership(session.teamId, session.userId));
    const user = membership && (await teams.findUser(session.userId));
    if (!session || !membership || !user || user.kind !== 'person') {
      if (session) await sessions.end(ctx.cookies.get(COOKIE));
      ctx.cookies.set(COOKIE, '', { ...cookieOptions, maxAge: 0 });
      return ctx.redirect('/dashboard/signin');
    }
    const team = await teamService.getTeam(session.teamId);
    // Suspension deletes the team's sessions (teams/sync.ts); one opened in the same moment ends here.
    if (team.suspendedAt != null) {
      await sessions.end(ctx.cookies.get(COOKIE));
      ctx.cookies.set(COOKIE, '', { ...cookieOptions, maxAge: 0 });
      return refusalPage(ctx, 'team_suspended');
    }
    const principal = {
      kind: 'person',
      userId: session.userId,
      teamId: session.teamId,
      role: membership.role,
    } as const;
    ctx.state.session = session;
    ctx.state.principal = principal;
    ctx.state.viewer = {
      email: user.email ?? '',
      teamName: team.name,
      admin: may(principal, session.teamId, 'keys:manage'),
      csrf: csrf.tokenFor(`dashboard:${session.id}`),
    };
    await next();
  }

  async function checkCsrf(ctx: Ctx, next: Koa.Next) {
    if (!csrf.matches(field(ctx, 'csrf'), `dashboard:${ctx.state.session!.id}`)) {
      return render(
        ctx,
        403,
        'The form expired',
        messagePage('The form expired or did not come from this page. Go back and try again.', true),
      );
    }
    await next();
  }

  /** The step that asks access/authorize.ts whether the signed-in person may act in their team. */
  const allow = (action: TeamAction) =>
    async function allowTeamAction(ctx: Ctx, next: Koa.Next) {
      const decision = decide(ctx.state.principal!, ctx.state.session!.teamId, action);
      switch (decision) {
        case 'allowed':
          return next();
        case 'other_team':
          throw new NotFound('There is no such key in your team.');
        case 'role_forbids':
        case 'not_admin':
        case 'missing_scope':
          return render(
            ctx,
            403,
            'Admins only',
            messagePage('Only admins of the team can manage keys. Ask an admin of your team.', true),
          );
      }
    };

  /** A form that shows a secret works once: its nonce is spent by the first submission. */
  async function spendNonce(ctx: Ctx, next: Koa.Next) {
    if (!(await sessions.useNonce(ctx.state.session!, field(ctx, 'nonce')))) {
      return render(
        ctx,
        409,
        'Already done',
        messagePage('This form was already sent. A secret is shown only once; open the key to rotate it again.', true),
      );
    }
    await next();
  }

  /** The key in the path, if the person may act on it; another team's is 404, as in the admin API. */
  async function teamKey(ctx: Ctx, action: TeamAction) {
    const client = await clientService.get(ctx.params.id ?? '').catch(() => undefined);
    if (!client || client.teamId === null || !may(ctx.state.principal!, client.teamId, action))
      throw new NotFound('There is no such key in your team.');
    return client;
  }

  const record = (ctx: Ctx, action: AuditAction, clientId: string | null, details?: Record<string, unknown>) =>
    audit.record({
      teamId: ctx.state.session!.teamId,
      actorType: actorOf(ctx.state.principal!).type,
      actorId: actorOf(ctx.state.principal!).id,
      action,
      clientId,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });

  const decorate = (key: ClientView) => ({ ...key, status: statusOf(key), hint: hintOf(key, config.keyPrefix) });
  const newNonce = () => randomBytes(16).toString('base64url');
  const kit: Kit = {
    form: form as never,
    requireSession,
    checkCsrf,
    allow,
    spendNonce,
    render,
    teamKey,
    record,
    field,
    fields,
    decorate,
    newNonce,
  };

  router.use(pages);

  router.get('/', (ctx) => ctx.redirect('/dashboard/keys'));

  router.get('/signin', (ctx) => {
    const login = randomBytes(24).toString('base64url');
    ctx.cookies.set(LOGIN_COOKIE, login, { ...cookieOptions, maxAge: 30 * 60_000 });
    render(ctx, 200, 'Sign in to your team', signInPage({ csrf: csrf.tokenFor(`login:${login}`) }, choices));
  });

  router.post('/signin', form as never, async (ctx) => {
    if (!choices.passwords) throw new NotFound('Sign-in with a password is off here; sign in with your product.');
    const login = ctx.cookies.get(LOGIN_COOKIE) ?? '';
    const token = csrf.tokenFor(`login:${login}`);
    if (!login || !csrf.matches(field(ctx, 'csrf'), `login:${login}`)) {
      return render(
        ctx,
        403,
        'Sign in to your team',
        signInPage({ csrf: token, error: 'The form expired. Try again.' }, choices),
      );
    }
    const result = await passwords.signIn({
      email: field(ctx, 'email'),
      password: field(ctx, 'password'),
      address: ctx.ip,
      // A person signs in to the team they joined first that is not suspended.
      admit: async (user) => {
        const memberships = await teams.membershipsOf(user.id);
        for (const membership of memberships)
          if ((await teams.findTeam(membership.teamId))?.suspendedAt == null) return membership;
        return memberships.length ? ('suspended' as const) : undefined;
      },
    });
    const again = (status: number, error: string) =>
      render(ctx, status, 'Sign in to your team', signInPage({ csrf: token, email: result.email, error }, choices));
    switch (result.outcome) {
      case 'throttled':
        noteRateLimit(ctx.state, 'sign_in');
        ctx.set('Retry-After', String(result.retryAfter));
        return again(429, `Too many attempts. Try again in ${result.retryAfter} seconds.`);
      case 'busy':
        // The bcrypt gate is full: a refusal for load, not for the attempt (503, as a busy server).
        ctx.set('Retry-After', '1');
        return again(503, 'Too many sign-ins at once. Try again in a second.');
      case 'wrong':
        return again(401, WRONG);
      case 'signed_in': {
        // The right password, but every team of theirs is suspended: told so, and no session.
        if (result.admitted === 'suspended') return refusalPage(ctx, 'team_suspended');
        const cookie = await sessions.create(result.user.id, result.admitted.teamId);
        ctx.cookies.set(COOKIE, cookie, cookieOptions);
        ctx.cookies.set(LOGIN_COOKIE, '', { ...cookieOptions, maxAge: 0 });
        ctx.status = 303;
        ctx.redirect('/dashboard/keys');
      }
    }
  });

  router.post('/signout', form as never, requireSession, checkCsrf, async (ctx) => {
    await sessions.end(ctx.cookies.get(COOKIE));
    ctx.cookies.set(COOKIE, '', { ...cookieOptions, maxAge: 0 });
    ctx.status = 303;
    ctx.redirect('/dashboard/signin');
  });

  installKeyRoutes(router, kit, { config, teamService, clientService });

  router.get('/keys/:id', requireSession, allow('keys:read'), async (ctx) => {
    const client = await teamKey(ctx, 'keys:read');
    const now = Math.floor(Date.now() / 1000);
    const usage = await keyUsage.read(client.clientId, { from: now - 7 * 86_400, to: now, granularity: 'hour' });
    const events = (await audit.listByTeam(client.teamId!, { limit: 200, offset: 0 })).events
      .filter((e) => e.client_id === client.clientId)
      .slice(0, 20);
    const names = await namesFor(teams, clientService, client.teamId!, events);
    const key = decorate(clientService.view(client));
    render(
      ctx,
      200,
      key.name ?? key.client_id,
      keyPage({
        viewer: ctx.state.viewer!,
        key,
        scopes: config.scopes,
        roles: await roles.list(client.teamId!),
        usage,
        events: eventsTable(events, names),
      }),
    );
  });

  router.post('/keys/:id/edit', form as never, requireSession, checkCsrf, allow('keys:manage'), async (ctx) => {
    const client = await teamKey(ctx, 'keys:manage');
    await clientService.update(client.clientId, {
      name: field(ctx, 'name'),
      scopes: fields(ctx, 'scopes'),
      // Allowlist and metadata (issue 28): their own block, dashboard/key-restrictions.ts.
      ...restrictionChanges((name) => field(ctx, name)),
      // Roles and its own permissions (issue 28 item 2): dashboard/key-permissions.ts.
      ...permissionChanges(
        (name) => field(ctx, name),
        (name) => fields(ctx, name),
      ),
    });
    ctx.status = 303;
    await record(ctx, 'client.update', client.clientId, {
      fields: ['name', 'scopes', 'allowed_ips', 'meta', 'roles', 'permissions'],
      via: 'dashboard',
    });
    ctx.redirect(`/dashboard/keys/${client.clientId}`);
  });

  router.get('/keys/:id/revoke', requireSession, allow('keys:manage'), async (ctx) => {
    const client = await teamKey(ctx, 'keys:manage');
    render(ctx, 200, 'Revoke this key?', revokePage({ viewer: ctx.state.viewer!, key: clientService.view(client) }));
  });

  router.post('/keys/:id/revoke', form as never, requireSession, checkCsrf, allow('keys:manage'), async (ctx) => {
    const client = await teamKey(ctx, 'keys:manage');
    await clientService.revoke(client.clientId);
    await record(ctx, 'client.revoke', client.clientId, { via: 'dashboard' });
    ctx.status = 303;
    ctx.redirect(`/dashboard/keys/${client.clientId}`);
  });

  installTeamRoutes(router, kit, { teams, teamService, clientService, audit });
  installRoleRoutes(router, kit, { roles });
  if (deps.webhooks) installWebhookRoutes(router, kit, { endpoints: deps.webhooks, audit });
  installAccountRoutes(router, kit, {
    sessions,
    passwords,
    teamService,
    audit,
    setCookie: (ctx, value) => ctx.cookies.set(COOKIE, value, { ...cookieOptions, ...(value ? {} : { maxAge: 0 }) }),
  });

  return router;
}
