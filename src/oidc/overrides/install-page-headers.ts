import type Provider from 'oidc-provider';
import type Koa from 'koa';
import { PAGE_HEADERS } from '../../web/html.js';

/*
 * Why: every HTML page keyport serves carries one policy (CSP without inline
 * script, no framing, no caching), including the pages oidc-provider writes
 * itself.
 * Changes: HTML answers of oidc-provider (lib/helpers/defaults.js renderError,
 * logoutSource and the like) get keyport's page headers unless the provider
 * set a Content-Security-Policy of its own.
 */
export function installPageHeaders(provider: Provider): void {
  provider.use(async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    await next();
    if (ctx.response.is('html') && !ctx.response.get('Content-Security-Policy')) ctx.set(PAGE_HEADERS);
  });
}
