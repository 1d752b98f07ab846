import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { requestLinesOf, type Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { notedAuthFailure } from './auth-failure-reasons.js';
import { notedRateLimit } from './rate-limit-reasons.js';

// An incoming X-Request-Id is kept when it is short and plain; anything else is replaced.
const PLAIN_ID = /^[\w.:-]{1,128}$/;
const OAUTH_ROUTES = new Set(['token', 'introspection', 'revocation']);
// Label values come from a fixed set: a client must not be able to create metric series.
const GRANT_TYPES = new Set(['client_credentials', 'authorization_code', 'refresh_token']);

interface Seen {
  route: string;
  clientId: string | undefined;
  oauthRoute: string | undefined;
  grantType: string | undefined;
  error: string | undefined;
}

/** What a finished request may tell the log: names and codes, never a header, body or query value. */
function seen(ctx: Koa.Context): Seen {
  const oidc = (
    ctx as unknown as { oidc?: { route?: string; client?: { clientId: string }; params?: { grant_type?: unknown } } }
  ).oidc;
  const matched = (ctx as unknown as { _matchedRoute?: string })._matchedRoute;
  const body = ctx.body as { error?: unknown } | undefined;
  const isJson = typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
  const { caller, route } = ctx.state as { caller?: { clientId?: string }; route?: string };
  return {
    // oidc-provider routes with @koa/router too: its route name comes first.
    route:
      route ??
      (oidc?.route
        ? `oidc:${oidc.route}`
        : (matched ?? (ctx.path.startsWith('/assets/') && ctx.status < 400 ? '/assets' : '(none)'))),
    clientId: oidc?.client?.clientId ?? caller?.clientId,
    oauthRoute: oidc?.route && OAUTH_ROUTES.has(oidc.route) ? oidc.route : undefined,
    grantType:
      oidc?.route === 'token'
        ? GRANT_TYPES.has(String(oidc.params?.grant_type))
          ? String(oidc.params!.grant_type)
          : 'other'
        : undefined,
    error: isJson && typeof body.error === 'string' ? body.error : undefined,
  };
}

/**
 * The first middleware: gives every request an id (X-Request-Id, echoed),
 * then writes one JSON line and counts it in the metrics when it is done.
 */
export function requestLog(logger: Logger, metrics: Metrics): Koa.Middleware {
  const lines = requestLinesOf(logger);
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const requestId = PLAIN_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    let failure: Error | undefined;
    try {
      await next();
    } catch (err) {
      failure = err as Error;
      throw err;
    } finally {
      const status = failure ? ((failure as { status?: number }).status ?? 500) : ctx.status;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const s = seen(ctx);
      metrics.httpRequests.inc({ route: s.route, method: ctx.method, status: String(status) });
      metrics.httpDuration.observe({ route: s.route }, seconds);
      if (s.grantType !== undefined)
        metrics.tokenGrants.inc({
          grant_type: s.grantType,
          outcome: status < 400 ? 'success' : (s.error ?? String(status)),
        });
      if (s.oauthRoute && status === 401 && s.error === 'invalid_client')
        metrics.clientAuthFailures.inc({
          reason: notedAuthFailure(ctx.state) ?? 'other',
        });
      if (status === 429)
        metrics.rateLimitRejections.inc({
          reason: notedRateLimit(ctx.state),
        });

      const line = {
        request_id: requestId,
        method: ctx.method,
        route: s.route,
        status,
        duration_ms: Math.round(seconds * 10_000) / 10,
        client_id: s.clientId,
        address: ctx.ip,
        ...(s.error ? { error: s.error } : {}),
        ...(notedAuthFailure(ctx.state) && status === 401 ? { reason: notedAuthFailure(ctx.state) } : {}),
      };
      if (status >= 500)
        logger.error(
          { ...line, err: failure ? { type: failure.name, message: failure.message } : undefined },
          'request failed',
        );
      else lines.info(line, 'request');
    }
  };
}
