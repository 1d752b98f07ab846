import type { Context } from 'koa';
import type { Refusal } from '../teams/external-people.js';
import { PAGE_HEADERS } from '../web/html.js';
import { HANDOFF_MAX_LIFETIME_SECONDS, type HandoffRefusal } from './handoff.js';
import { layout, messagePage } from './pages.js';

type Ctx = Context;

/** What the person reads when the product's word does not let them in, and its status. */
export const REFUSALS: Record<
  HandoffRefusal | Refusal | 'replayed' | 'oidc_flow' | 'oidc_refused',
  readonly [number, string]
> = {
  malformed: [400, 'This sign-in link is not a valid hand-off token.'],
  signature: [401, 'This sign-in link was not signed by a key keyport knows for your product.'],
  issuer: [401, 'This sign-in link was issued by someone keyport does not accept.'],
  audience: [401, 'This sign-in link is meant for another service, not this dashboard.'],
  expired: [401, 'This sign-in link has expired. Go back to the product and open the dashboard again.'],
  lifetime: [
    401,
    `This sign-in link lives too long: a hand-off must expire within ${HANDOFF_MAX_LIFETIME_SECONDS} seconds of being issued.`,
  ],
  replayed: [401, 'This sign-in link was used already. Go back to the product and open the dashboard again.'],
  unknown_team: [
    401,
    'Your account is not linked to any team in keyport. Ask an admin of your team in the product to give you access.',
  ],
  team_suspended: [
    403,
    'Your team is suspended in keyport: its keys do not work and nobody can sign in to it. Ask your product’s support to restore it.',
  ],
  bad_role: [400, 'The product gave a role keyport does not know (admin or member).'],
  bad_email: [400, 'The product gave no valid email address for you.'],
  oidc_flow: [
    400,
    'This sign-in was not started here, or took longer than ten minutes. Start again from the sign-in page.',
  ],
  oidc_refused: [401, 'Your product’s sign-in did not confirm who you are. Start again from the sign-in page.'],
  not_a_person: [401, 'That email belongs to a service account, which cannot sign in.'],
};

export function refusalPage(ctx: Ctx, reason: keyof typeof REFUSALS): void {
  const [status, text] = REFUSALS[reason];
  ctx.status = status;
  ctx.set(PAGE_HEADERS);
  ctx.type = 'html';
  ctx.body = layout('You are not signed in', undefined, messagePage(text, true));
}

/** The product's provider does not answer (discovery or the token request failed to connect): 503, never a 500. */
export function unreachablePage(ctx: Ctx, product: string): void {
  ctx.status = 503;
  ctx.set(PAGE_HEADERS);
  ctx.set('Retry-After', '30');
  ctx.type = 'html';
  ctx.body = layout(
    'Sign-in is not available',
    undefined,
    messagePage(`keyport cannot reach ${product}'s sign-in right now. Try again in a minute.`, true),
  );
}
