import type Router from '@koa/router';
import type { AuditAction, AuditStore } from '../audit/audit.js';
import type { PasswordSignIn } from '../access/password-sign-in.js';
import { actorOf } from '../access/principal.js';
import { InvalidRequest } from '../errors.js';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import type { TeamService } from '../teams/service.js';
import { html, type SafeHtml } from '../web/html.js';
import type { Ctx, Kit, State } from './kit.js';
import type { DashboardSessions } from './sessions.js';

export interface AccountDeps {
  readonly sessions: DashboardSessions;
  readonly passwords: PasswordSignIn;
  readonly teamService: TeamService;
  readonly audit: AuditStore;
  /** Sets this browser's session cookie; '' clears it. */
  setCookie(ctx: Ctx, value: string): void;
}

const TITLE = 'Your account';

/** The signed-in person's own page: change the password, sign out everywhere. */
export function accountPage(v: { csrf: string; email: string; error?: string; notice?: string }): SafeHtml {
  return html`${v.notice ? html`<p class="notice" role="status" id="message">${v.notice}</p>` : ''}
${v.error ? html`<p class="error" role="alert" id="message">${v.error}</p>` : ''}
<h2>Change your password</h2>
<form method="post" action="/dashboard/account/password" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<input type="text" name="email" autocomplete="username" value="${v.email}" hidden>
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
<label for="new_password">New password <span class="hint">(8 characters or more)</span></label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required>
<button type="submit">Change password</button>
</form>
<p>Changing your password signs you out on every other browser.</p>
<h2>Sign out everywhere</h2>
<p>Ends every dashboard session of ${v.email}, this one included: on a lost or shared computer too.</p>
<form method="post" action="/dashboard/account/signout-everywhere">
<input type="hidden" name="csrf" value="${v.csrf}">
<button type="submit" class="secondary">Sign out everywhere</button>
</form>`;
}

/**
 * GET /dashboard/account, POST …/password, POST …/signout-everywhere. A
 * password change needs the current password, checked as a sign-in is (the
 * same throttle and bcrypt gate), and ends the person's other sessions.
 */
export function installAccountRoutes(
  router: Router<State>,
  kit: Kit,
  { sessions, passwords, teamService, audit, setCookie }: AccountDeps,
): void {
  const { form, requireSession, checkCsrf, render, field } = kit;
  const page = (ctx: Ctx, status: number, message: { error?: string; notice?: string } = {}) =>
    render(
      ctx,
      status,
      TITLE,
      accountPage({ csrf: ctx.state.viewer!.csrf, email: ctx.state.viewer!.email, ...message }),
      '/dashboard/account',
    );

  const record = (ctx: Ctx, action: AuditAction, details: Record<string, unknown>) =>
    audit.record({
      teamId: ctx.state.session!.teamId,
      actorType: 'person',
      actorId: actorOf(ctx.state.principal!).id,
      action,
      clientId: null,
      status: ctx.status,
      ip: ctx.ip,
      details,
    });

  router.get('/account', requireSession, (ctx) =>
    page(
      ctx,
      200,
      ctx.query.changed === '1' ? { notice: 'Your password was changed. Your other sessions were signed out.' } : {},
    ),
  );

  router.post('/account/password', form, requireSession, checkCsrf, async (ctx) => {
    const session = ctx.state.session!;
    const checked = await passwords.signIn({
      email: ctx.state.viewer!.email,
      password: field(ctx, 'current_password'),
      address: ctx.ip,
      admit: async (user) => (user.id === session.userId ? user : undefined),
    });
    switch (checked.outcome) {
      case 'throttled':
        noteRateLimit(ctx.state, 'sign_in');
        ctx.set('Retry-After', String(checked.retryAfter));
        return page(ctx, 429, { error: `Too many attempts. Try again in ${checked.retryAfter} seconds.` });
      case 'busy':
        ctx.set('Retry-After', '1');
        return page(ctx, 503, { error: 'Too many sign-ins at once. Try again in a second.' });
      case 'wrong':
        return page(ctx, 400, { error: 'That is not your current password. Nothing was changed.' });
      case 'signed_in':
        break;
    }
    try {
      await teamService.changePassword(session.userId, field(ctx, 'new_password'));
    } catch (err) {
      if (err instanceof InvalidRequest)
        return page(ctx, 400, {
          error: 'The new password must be 8 characters to 72 bytes long. Nothing was changed.',
        });
      throw err;
    }
    // Every session of the person ended with the change (teams/service.ts); this browser gets a new one.
    setCookie(ctx, await sessions.create(session.userId, session.teamId));
    ctx.status = 303;
    await record(ctx, 'person.password.change', { other_sessions_ended: true });
    ctx.redirect('/dashboard/account?changed=1');
  });

  router.post('/account/signout-everywhere', form, requireSession, checkCsrf, async (ctx) => {
    const ended = await sessions.endAllOf(ctx.state.session!.userId);
    setCookie(ctx, '');
    ctx.status = 303;
    await record(ctx, 'person.signout.everywhere', { sessions_ended: ended });
    ctx.redirect('/dashboard/signin');
  });
}
