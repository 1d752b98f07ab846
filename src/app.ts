import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import { staticAssets } from './interactions/static.js';
import { oobRedirectPage } from './oidc/oob.js';
import type Router from '@koa/router';

export interface AppDeps {
  readonly config: Config;
  readonly provider: Provider;
  readonly adminRouter: Router<any>;
  readonly interactionRouter: Router<any>;
}

/**
 * The HTTP surface: keyport's own routes (admin API, sign-in and consent
 * pages) first, then oidc-provider for everything OAuth (discovery, token,
 * introspection, revocation, JWKS, authorization).
 */
export function createApp({ provider, adminRouter, interactionRouter }: AppDeps): Koa {
  const app = new Koa();
  app.silent = true;
  // Mounted, oidc-provider signs its cookies through this app's ctx.cookies: same keys.
  app.keys = provider.keys;
  app.use(securityHeaders);
  app.use(adminRouter.routes());
  app.use(adminRouter.allowedMethods());
  app.use(staticAssets);
  app.use(interactionRouter.routes());
  app.use(oobRedirectPage);
  app.use(mount(provider));
  return app;
}

async function securityHeaders(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.set('X-Content-Type-Options', 'nosniff');
  await next();
}
