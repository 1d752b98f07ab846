import { formField, formFields } from '../web/form-fields.js';
import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import type { AuditStore } from '../audit/audit.js';
import type { Config } from '../config.js';
import { KeyportError } from '../errors.js';
import { staffMay, type StaffAction } from '../access/staff-access.js';
import type { StaffSignIn } from '../access/staff-sign-in.js';
import type { StaffService } from '../staff/service.js';
import type { StaffSessions } from '../staff/sessions.js';
import type { TotpSealer } from '../staff/totp.js';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import { parseBody } from '../web/body.js';
import { createCsrf } from '../web/csrf.js';
import { PAGE_HEADERS, type SafeHtml } from '../web/html.js';
import type { Ctx, Kit, State } from './kit.js';
import { consoleLayout, message } from './layout.js';
import { enrolPage, recoveryCodesPage, secondFactorPage, signInPage } from './sign-in-pages.js';
import { installTeamRoutes, type TeamRouteDeps } from './team-routes.js';
import { installHealthRoute, type HealthDeps } from './health.js';

export interface ConsoleDeps extends TeamRouteDeps, HealthDeps {
  readonly config: Config;
  readonly audit: AuditStore;
  readonly staff: StaffService;
  readonly sessions: StaffSessions;
  readonly signIn: StaffSignIn;
  readonly totp: TotpSealer;
  readonly csrfKey: string;
}

const COOKIE = 'kp_console';

/** The enrolment page's QR code is an SVG data URI in an <img>: that page alone allows data: images. */
const allowQrImage = (ctx: Ctx) =>
  ctx.set(
    'Content-Security-Policy',
    PAGE_HEADERS['Content-Security-Policy']!.replace("default-src 'none';", "default-src 'none'; img-src data:;"),
  );
const LOGIN_COOKIE = 'kp_console_login';

/**
 * The support console (issue 29, docs/contract.md "The support console"):
 * staff sign in with a password and a TOTP code, find a team, and do the
 * runbook's procedures through the same services as the admin API and the
 * dashboard. Every change names the staff account and a typed reason in the
 * team's audit log; who may do what is access/staff-access.ts.
 */
export function createConsoleRouter(deps: ConsoleDeps): Router<State> {
  const { config, audit, staff, sessions, signIn, totp, csrfKey } = deps;
  const router = new Router<State>({ prefix: '/console' });
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: config.issuer.startsWith('https:'),
    path: '/console',
    signed: false,
    overwrite: true,
  };
  const form = parseBody({ enableTypes: ['form'], formLimit: '64kb' }) as never;
  const csrf = createCsrf(csrfKey);
  const body = (ctx: Ctx) => (ctx.request as unknown as { body?: Record<string, unknown> }).body;
  // Read as the dashboard reads its forms (web/form-fields.ts: 21 repeated values are still a list).
  const field = (ctx: Ctx, name: string): string => formField(body(ctx), name);
  const fields = (ctx: Ctx, name: string): string[] => formFields(body(ctx), name);

  function render(ctx: Ctx, status: number, title: string, content: SafeHtml) {
    ctx.status = status;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'html';
    const who = ctx.state.staff && ctx.state.csrf ? { staff: ctx.state.staff, csrf: ctx.state.csrf } : undefined;
    ctx.body = consoleLayout(title, content, ctx.state.staffSession?.stage === 'signed_in' ? who : undefined);
  }

  async function pages(ctx: Ctx, next: Koa.Next) {
    ctx.state.route = '/console';
    try {
      await next();
    } catch (err) {
      if (!(err instanceof KeyportError)) throw err;
      ctx.set(err.headers());
      render(ctx, err.status, err.status === 404 ? 'Not found' : 'That did not work', message(err.message, true));
    }
  }

  /** The session at either stage; the account is read at each request, so a disabled one is out at once. */
  async function loadSession(ctx: Ctx, next: Koa.Next) {
    const found = await sessions.find(ctx.cookies.get(COOKIE));
    if (!found) {
      ctx.cookies.set(COOKIE, '', { ...cookieOptions, maxAge: 0 });
      ctx.status = 303;
      return ctx.redirect('/console/signin');
    }
    ctx.state.staff = found.account;
    ctx.state.staffSession = found.session;
    ctx.state.csrf = csrf.tokenFor(`console:${found.session.id}`);
    await next();
  }

  async function requireStaff(ctx: Ctx, next: Koa.Next) {
    await loadSession(ctx, async () => {
      if (ctx.state.staffSession!.stage !== 'signed_in') {
        ctx.status = 303;
        return ctx.redirect('/console/second-factor');
      }
      await next();
    });
  }

  async function checkCsrf(ctx: Ctx, next: Koa.Next) {
    if (!csrf.matches(field(ctx, 'csrf'), `console:${ctx.state.staffSession!.id}`))
      return render(ctx, 403, 'The form expired', message('The form expired or did not come from this page.', true));
    await next();
  }

  const allow = (action: StaffAction) =>
    async function allowStaffAction(ctx: Ctx, next: Koa.Next) {
      if (!staffMay(ctx.state.staff!.role, action))
        return render(
          ctx,
          403,
          'Not for your role',
          message(
            action === 'plan:change'
              ? 'Only console admins may change a plan.'
              : 'Your console role (readonly) may look, not change.',
            true,
          ),
        );
      await next();
    };

  async function requireReason(ctx: Ctx, next: Koa.Next) {
    if (field(ctx, 'reason').trim().length < 3)
      return render(
        ctx,
        400,
        'A reason is required',
        message('Type why you make this change (at least 3 characters): it goes in the audit log.', true),
      );
    await next();
  }

  const record: Kit['record'] = (ctx, action, teamId, clientId, details = {}) =>
    audit.record({
      teamId,
      actorType: 'staff',
      actorId: String(ctx.state.staff!.id),
      action,
      clientId,
      status: ctx.status,
      ip: ctx.ip,
      details: {
        ...details,
        via: 'console',
        staff_email: ctx.state.staff!.email,
        staff_role: ctx.state.staff!.role,
        reason: field(ctx, 'reason').trim().slice(0, 500),
      },
    });

  const kit: Kit = { form, requireStaff, checkCsrf, allow, requireReason, render, field, fields, record };

  router.use(pages);
  router.get('/', (ctx) => ctx.redirect('/console/teams'));

  router.get('/signin', (ctx) => {
    const login = randomBytes(24).toString('base64url');
    ctx.cookies.set(LOGIN_COOKIE, login, { ...cookieOptions, maxAge: 30 * 60_000 });
    render(ctx, 200, 'Staff sign-in', signInPage({ csrf: csrf.tokenFor(`login:${login}`) }));
  });

  router.post('/signin', form, async (ctx) => {
    const login = ctx.cookies.get(LOGIN_COOKIE) ?? '';
    const token = csrf.tokenFor(`login:${login}`);
    const email = field(ctx, 'email');
    const again = (status: number, error: string) =>
      render(ctx, status, 'Staff sign-in', signInPage({ csrf: token, email, error }));
    if (!login || !csrf.matches(field(ctx, 'csrf'), `login:${login}`))
      return again(403, 'The form expired. Try again.');
    const result = await signIn.signIn({ email, password: field(ctx, 'password'), address: ctx.ip });
    switch (result.outcome) {
      case 'throttled':
        noteRateLimit(ctx.state, 'sign_in');
        ctx.set('Retry-After', String(result.retryAfter));
        return again(429, `Too many attempts. Try again in ${result.retryAfter} seconds.`);
      case 'busy':
        ctx.set('Retry-After', '1');
        return again(503, 'Too many sign-ins at once. Try again in a second.');
      case 'wrong':
        return again(401, 'Wrong email or password, or the account is disabled.');
      case 'signed_in': {
        await sessions.end(ctx.cookies.get(COOKIE));
        ctx.cookies.set(COOKIE, await sessions.create(result.account.id), cookieOptions);
        ctx.cookies.set(LOGIN_COOKIE, '', { ...cookieOptions, maxAge: 0 });
        ctx.status = 303;
        ctx.redirect('/console/second-factor');
      }
    }
  });

  /** Enrolment (a new secret, its QR code) when the account has none; else the code prompt. */
  router.get('/second-factor', loadSession, async (ctx) => {
    const { staff: account, staffSession: session } = ctx.state;
    if (session!.stage === 'signed_in') return ctx.redirect('/console/teams');
    if (account!.totpSealed) return render(ctx, 200, 'Second factor', secondFactorPage({ csrf: ctx.state.csrf! }));
    const secret = totp.newSecret();
    await sessions.update(session!, { pendingTotp: totp.seal(secret) });
    render(
      ctx,
      200,
      'Set up your second factor',
      await enrolPage({ csrf: ctx.state.csrf!, secret, uri: totp.uri(account!.email, secret) }),
    );
    allowQrImage(ctx);
  });

  /** A TOTP code's step, accepted once: the same code again (a replay, or a second tab) is a wrong code. */
  const acceptTotp = async (staffId: number, step: number | undefined) =>
    step !== undefined && (await staff.useTotpStep(staffId, step));

  router.post('/second-factor', form, loadSession, checkCsrf, async (ctx) => {
    const { staff: account, staffSession: session } = ctx.state;
    if (session!.stage === 'signed_in') return ctx.redirect('/console/teams');
    const code = field(ctx, 'code').trim();
    const enrolling = !account!.totpSealed;
    const sealed = account!.totpSealed ?? session!.pendingTotp;
    if (!sealed) return ctx.redirect('/console/second-factor');
    const checked = await signIn.checkSecondFactor(account!, ctx.ip, async () =>
      /^\d[\d ]*$/.test(code)
        ? acceptTotp(account!.id, totp.stepOf(sealed, code))
        : !enrolling && staff.useRecoveryCode(account!.id, code),
    );
    if (typeof checked === 'object') {
      noteRateLimit(ctx.state, 'sign_in');
      ctx.set('Retry-After', String(checked.retryAfter));
      return render(
        ctx,
        429,
        'Second factor',
        message(`Too many attempts. Try again in ${checked.retryAfter} seconds.`),
      );
    }
    if (checked === 'wrong') {
      const error = 'That code is wrong or expired. Try the current one.';
      if (!enrolling) return render(ctx, 401, 'Second factor', secondFactorPage({ csrf: ctx.state.csrf!, error }));
      const secret = totp.unseal(sealed)!;
      return render(
        ctx,
        401,
        'Set up your second factor',
        await enrolPage({ csrf: ctx.state.csrf!, secret, uri: totp.uri(account!.email, secret), error }),
      );
      allowQrImage(ctx);
    }
    await sessions.update(session!, { stage: 'signed_in', pendingTotp: null });
    ctx.state.staffSession = { ...session!, stage: 'signed_in' };
    if (!enrolling) {
      ctx.status = 303;
      return ctx.redirect('/console/teams');
    }
    const codes = await staff.enrol(account!.id, sealed);
    render(ctx, 200, 'Your recovery codes', recoveryCodesPage(codes));
  });

  router.post('/signout', form, loadSession, checkCsrf, async (ctx) => {
    await sessions.end(ctx.cookies.get(COOKIE));
    ctx.cookies.set(COOKIE, '', { ...cookieOptions, maxAge: 0 });
    ctx.status = 303;
    ctx.redirect('/console/signin');
  });

  installTeamRoutes(router, kit, deps);
  installHealthRoute(router, kit, deps);
  return router;
}
