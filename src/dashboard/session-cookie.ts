import type { Context } from 'koa';
import type { Config } from '../config.js';
import type { DashboardSessions } from './sessions.js';

/** The dashboard's session cookie: the same for a password, a hand-off or the product's sign-in. */
export const SESSION_COOKIE = 'kp_dashboard';

export const sessionCookieOptions = (config: Config) => ({
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: config.issuer.startsWith('https:'),
  path: '/dashboard',
  signed: false,
  overwrite: true,
});

/**
 * Opens a dashboard session for the person in the team and sends the browser
 * to the team's keys; a session the browser held before ends, so switching
 * people never leaves the earlier one alive.
 */
export async function openSession(
  ctx: Context,
  deps: { readonly config: Config; readonly sessions: DashboardSessions },
  userId: number,
  teamId: number,
): Promise<void> {
  await deps.sessions.end(ctx.cookies.get(SESSION_COOKIE));
  const cookie = await deps.sessions.create(userId, teamId);
  ctx.cookies.set(SESSION_COOKIE, cookie, sessionCookieOptions(deps.config));
  ctx.status = 303;
  ctx.redirect('/dashboard/keys');
}
