import type { Context } from 'koa';
import type { Admission } from '../teams/external-people.js';
import type { ExternalSignInDeps } from './external-sign-in-deps.js';
import { openSession } from './session-cookie.js';

/**
 * The product admitted the person: a role it gave or changed is audited
 * (`member.role.change`, from null when they just joined), then the session opens.
 */
export async function signInAdmitted(
  ctx: Context,
  deps: ExternalSignInDeps,
  admission: Extract<Admission, { outcome: 'admitted' }>,
  source: 'handoff' | 'product_sign_in',
): Promise<void> {
  const { team, user, role, before } = admission;
  if (before !== role) {
    await deps.audit.record({
      teamId: team.id,
      actorType: 'person',
      actorId: String(user.id),
      action: 'member.role.change',
      clientId: null,
      status: 200,
      ip: ctx.ip,
      details: { user_id: user.id, email: user.email, from: before, to: role, by: source },
    });
  }
  await openSession(ctx, deps, user.id, team.id);
}
