import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import { staticAssets } from './web/static.js';
import type Router from '@koa/router';
import type { Db } from './persistence/sql/knex.js';
import type { SharedRedis } from './persistence/redis.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { probes } from './observability/probes.js';
import { requestLog } from './observability/request-log.js';
import { answerUnavailable } from './web/unavailable.js';

/** Each surface's router has a state type of its own; the app only mounts them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SurfaceRouter = Router<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMiddleware = Koa.Middleware<any, any>;

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  readonly redis?: SharedRedis;
  readonly provider: Provider;
  readonly adminRouter: SurfaceRouter;
  readonly keysRouter: SurfaceRouter;
  /** Leaked keys: /secret-scanning/github and /keys/leaked (keys-api/leak-router.ts). */
  readonly leakRouter: SurfaceRouter;
  readonly shareRouter: SurfaceRouter;
  readonly dashboardRouter: SurfaceRouter;
  /** The support console for keyport's own staff (console/router.ts). */
  readonly consoleRouter?: SurfaceRouter;
  /** The product's hand-off and OpenID Connect sign-in, under /dashboard too (dashboard/external-sign-in.ts). */
  readonly externalSignInRouter?: SurfaceRouter;
  readonly interactionRouter: SurfaceRouter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Set on SIGTERM: every answer closes its connection, so none is reused while the process drains. */
  readonly state: { readonly draining: boolean; readonly stopping: boolean };
}

/**
 * The HTTP surface: keyport's own routes (admin API, sign-in and consent
 * pages) first, then oidc-provider for everything OAuth (discovery, token,
 * introspection, revocation, JWKS, authorization).
 */
export function createApp({
  config,
  db,
  redis,
  provider,
  adminRouter,
  keysRouter,
  leakRouter,
  shareRouter,
  dashboardRouter,
  consoleRouter,
  externalSignInRouter,
  interactionRouter,
  logger,
  metrics,
  state,
}: AppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  // Mounted, oidc-provider signs its cookies through this app's ctx.cookies: same keys.
  app.keys = provider.keys;
  // Behind N trusted proxies, ctx.ip is the Nth address from the right of X-Forwarded-For.
  app.proxy = config.trustedProxies > 0;
  app.maxIpsCount = config.trustedProxies;
  app.use(requestLog(logger, metrics));
  pinIssuerOrigin(app, config.issuer);
  app.use(basics(state, config.issuer.startsWith('https:')));
  app.use(answerUnavailable());
  const probe = probes({ config, db, redis, metrics, state });
  // keyport's own routes, each under its first path segment: a token request passes one check, not eight routers.
  app.use(
    bySegment({
      healthz: [probe],
      readyz: [probe],
      metrics: [probe],
      api: [adminRouter.routes(), adminRouter.allowedMethods()],
      keys: [keysRouter.routes(), leakRouter.routes()],
      'secret-scanning': [leakRouter.routes()],
      s: [shareRouter.routes()],
      dashboard: [...(externalSignInRouter ? [externalSignInRouter.routes()] : []), dashboardRouter.routes()],
      ...(consoleRouter ? { console: [consoleRouter.routes()] } : {}),
      static: [staticAssets],
      interaction: [interactionRouter.routes()],
    }),
  );
  // oidc-provider, with keyport's changes to it installed on it (oidc/provider.ts, oidc/overrides/).
  app.use(mount(provider));
  return app;
}

/**
 * Runs the middleware listed for the request path's first segment (`/api/…`
 * → `api`); any other path, or one they do not answer, goes on down the
 * chain (to oidc-provider) as before.
 */
function bySegment(routes: Record<string, Array<AnyMiddleware>>): Koa.Middleware {
  const bySegmentName = new Map(Object.entries(routes));
  return (ctx, next) => {
    const end = ctx.path.indexOf('/', 1);
    const middleware = bySegmentName.get(ctx.path.slice(1, end < 0 ? undefined : end));
    if (!middleware) return next();
    const run = (i: number): Promise<unknown> =>
      i < middleware.length ? Promise.resolve(middleware[i]!(ctx, () => run(i + 1))) : next();
    return run(0);
  };
}

/**
 * Every absolute URL keyport builds (discovery, accepted assertion audiences,
 * redirects) comes from ISSUER, never from the request's Host or
 * X-Forwarded-* headers: a request claiming `Host: evil.example` must not
 * make keyport accept an assertion addressed to evil.example.
 */
function pinIssuerOrigin(app: Koa, issuer: string): void {
  const url = new URL(issuer);
  // On the prototype every request of this app (and of oidc-provider, mounted on it) is made from: set once, not per request.
  const fixed = (value: string) => ({ value, writable: false, enumerable: true });
  Object.defineProperties(app.request, {
    host: fixed(url.host),
    hostname: fixed(url.hostname),
    protocol: fixed(url.protocol.slice(0, -1)),
    origin: fixed(url.origin),
  });
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ALLOW = [...METHODS].join(', ');

/**
 * What every request gets first, in one step: a method keyport serves
 * nowhere (PROPFIND, TRACE, …) is the client's mistake, 405 and never 501;
 * while draining, answers close their connection; no content sniffing; with
 * an https ISSUER, Strict-Transport-Security (two years, subdomains) on every
 * answer, never over an http ISSUER (a browser would then refuse plain http).
 */
const HSTS = 'max-age=63072000; includeSubDomains';
function basics(state: { draining: boolean }, https: boolean): Koa.Middleware {
  return (ctx, next) => {
    if (https) ctx.set('Strict-Transport-Security', HSTS);
    if (!METHODS.has(ctx.method)) {
      ctx.status = 405;
      ctx.set('Allow', ALLOW);
      ctx.body = {
        error: 'method_not_allowed',
        message: `${ctx.method.slice(0, 20)} is not served here; allowed: ${ALLOW}`,
      };
      return Promise.resolve();
    }
    if (state.draining) ctx.set('Connection', 'close');
    ctx.set('X-Content-Type-Options', 'nosniff');
    return next();
  };
}
