import type Koa from 'koa';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import { PAGE_HEADERS } from '../web/html.js';
import { errorPage } from './interactions/pages.js';
import { perAddressPerMinute } from '../limits/per-address.js';

/** Authorization requests (each stores an interaction) one address may start per minute, per process. */
export const AUTHORIZATION_REQUESTS_PER_MINUTE = 60;

/**
 * An anonymous GET of the authorization endpoint makes oidc-provider store an
 * interaction (for the sign-in that may follow). Counted per source address
 * in memory, so the count itself writes nothing: past the limit the request
 * answers 429 before anything is stored.
 */
export function limitAuthorizationRequests(path: string, ipv6Prefix: number): Koa.Middleware {
  const wait = perAddressPerMinute(AUTHORIZATION_REQUESTS_PER_MINUTE, ipv6Prefix);
  const limited: Koa.Middleware = async (ctx, next) => {
    const seconds = await wait(ctx.ip);
    if (seconds > 0) {
      noteRateLimit(ctx.state, 'authorization_requests');
      ctx.status = 429;
      ctx.set({ ...PAGE_HEADERS, 'Retry-After': String(seconds) });
      ctx.type = 'html';
      ctx.body = errorPage(
        'rate_limit_exceeded',
        `Too many sign-in requests from your address. Try again in ${seconds} seconds.`,
      );
      return;
    }
    await next();
  };
  return (ctx, next) => (ctx.path === path ? limited(ctx, next) : next());
}
