import type Koa from 'koa';
import { ServiceUnavailable } from '../errors.js';

/**
 * The last word on an outage: a ServiceUnavailable that no surface answered
 * (the database did not answer within `database_timeout_ms`) is
 * `503 {"error":"temporarily_unavailable","message":…,"retry_after":N}` with
 * `Retry-After`, never Koa's text/plain 500.
 */
export function answerUnavailable(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof ServiceUnavailable)) throw err;
      ctx.status = 503;
      ctx.set(err.headers());
      ctx.set('Cache-Control', 'no-store');
      ctx.body = err.body();
    }
  };
}
