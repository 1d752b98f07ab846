import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { ServiceUnavailable } from '../../errors.js';

const FAILURE = Symbol('keyport.unavailable');
type WithFailure = { [FAILURE]?: ServiceUnavailable };

/*
 * Why: when the database does not answer within `database_timeout_ms`, a
 * store fails with ServiceUnavailable, and oidc-provider answers any error it
 * does not know as `server_error` ("oops! something went wrong") with the
 * error's statusCode (503 here) and no Retry-After. RFC 6749 §4.1.2.1 names
 * `temporarily_unavailable` for this, and RFC 9110 §10.2.3 Retry-After: the
 * token endpoint, introspection and revocation answer
 * `503 {"error":"temporarily_unavailable","error_description":…}` with
 * `Retry-After`; an HTML error page keeps its page and gets the same status
 * and header.
 * Changes: the answer of oidc-provider lib/shared/error_handler.js for
 * errors that are not OIDCProviderError (it emits `server_error`).
 */
export function installUnavailableAnswers(provider: Provider): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    if (err instanceof ServiceUnavailable) (ctx.state as WithFailure)[FAILURE] = err;
  });
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // keyport's own additions (introspection of raw keys) run outside the route's error handler.
      if (!(err instanceof ServiceUnavailable)) throw err;
      (ctx.state as WithFailure)[FAILURE] = err;
    }
    const failure = (ctx.state as WithFailure)[FAILURE];
    if (!failure) return;
    ctx.status = 503;
    ctx.set(failure.headers());
    ctx.set('Cache-Control', 'no-store');
    if (ctx.type !== 'text/html') ctx.body = { error: failure.code, error_description: failure.answer };
  });
}
