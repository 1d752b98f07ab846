import type Provider from 'oidc-provider';
import type { UsageRecorder } from '../../clients/usage.js';

const PENDING = Symbol('keyport.usage');
type WithPending = { [PENDING]?: string[] };

/** Counts one use of `clientId`'s key, if and when this request's answer is a success. */
export function countOnSuccess(ctx: { state: object }, clientId: string): void {
  const state = ctx.state as WithPending;
  (state[PENDING] ??= []).push(clientId);
}

/*
 * Why: a use of a key is counted as the token is built (extraTokenClaims) or
 * the introspection allowed, before oidc-provider stores or answers; when
 * the database then fails (a 503) the caller got nothing, and the count
 * would be one too many. Uses are counted once the answer is a 2xx, so
 * usage_count equals the successful answers, outage or not.
 * Changes: nothing in oidc-provider's answers; runs outside every route.
 */
export function installUsageOnSuccess(provider: Provider, { usage }: { readonly usage: UsageRecorder }): void {
  provider.use(async (ctx, next) => {
    await next();
    const pending = (ctx.state as WithPending)[PENDING];
    if (!pending || ctx.status < 200 || ctx.status >= 300) return;
    for (const clientId of pending) usage.record(clientId);
  });
}
