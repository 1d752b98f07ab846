import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { PAGE_HEADERS } from '../../web/html.js';
import { errorPage } from '../interactions/pages.js';

/*
 * Why: response_mode=form_post answers with an auto-submitting page whose
 * inline script keyport's page policy (no inline script, form-action limited
 * to the app's origins) would stop.
 * Changes: oidc-provider lib/actions/authorization (response_mode form_post,
 * lib/response_modes/form_post.js) is refused with a clear error, and
 * lib/actions/discovery.js's `response_modes_supported` leaves it out, so a
 * client picks query or fragment instead.
 */
export function installNoFormPost(provider: Provider): void {
  const authorizationPath = provider.pathFor('authorization');
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    if (ctx.path === authorizationPath && /form_post/.test(String(ctx.query.response_mode ?? ''))) {
      ctx.status = 400;
      ctx.set(PAGE_HEADERS);
      ctx.type = 'html';
      ctx.body = errorPage('invalid_request', 'response_mode form_post is not supported; use query or fragment');
      return;
    }
    await next();
    if (ctx.oidc?.route === 'discovery') {
      const body = ctx.body as { response_modes_supported?: string[] };
      body.response_modes_supported = body.response_modes_supported?.filter((mode) => !mode.includes('form_post'));
    }
  });
}
