import type Koa from 'koa';
import { OOB_REDIRECT_URI } from '../clients/kinds.js';
import { PAGE_HEADERS } from '../web/html.js';
import { oobPage } from './interactions/pages.js';

/**
 * oidc-provider answers an authorization for the out-of-band redirect with a
 * 303 to `urn:ietf:wg:oauth:2.0:oob?code=…`, which no browser can follow.
 * keyport turns that answer into a page showing the code (or the error) for
 * the person to copy. Every value is HTML-escaped by the page template; the
 * request's `state` is not shown at all (any caller's text on keyport's origin).
 */
export async function oobRedirectPage(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  await next();
  const location = ctx.response.get('Location');
  if (
    ctx.status < 300 ||
    ctx.status >= 400 ||
    !(location === OOB_REDIRECT_URI || location.startsWith(`${OOB_REDIRECT_URI}?`))
  )
    return;

  const params = new URLSearchParams(location.slice(OOB_REDIRECT_URI.length + 1));
  ctx.remove('Location');
  ctx.status = 200;
  ctx.set(PAGE_HEADERS);
  ctx.type = 'html';
  ctx.body = oobPage({
    code: params.get('code') ?? undefined,
    error: params.get('error') ?? undefined,
    errorDescription: params.get('error_description') ?? undefined,
  });
}
