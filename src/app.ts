import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import type Router from '@koa/router';

export interface AppDeps {
  readonly config: Config;
  readonly provider: Provider;
  readonly adminRouter: Router<any>;
}

/**
 * The HTTP surface: keyport's own routes first, then oidc-provider for
 * everything OAuth (discovery, token, introspection, revocation, JWKS, auth).
 */
export function createApp({ provider, adminRouter }: AppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(securityHeaders);
  app.use(adminRouter.routes());
  app.use(adminRouter.allowedMethods());
  app.use(mount(provider));
  return app;
}

async function securityHeaders(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.set('X-Content-Type-Options', 'nosniff');
  await next();
}
