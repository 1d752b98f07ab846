import type Provider from 'oidc-provider';
import { oobRedirectPage } from '../oob.js';

/*
 * Why: a native or command-line app registered with the out-of-band redirect
 * (urn:ietf:wg:oauth:2.0:oob) needs the code shown to the person; no browser
 * can follow a redirect to it.
 * Changes: oidc-provider lib/response_modes/query.js's 303 to the oob URI
 * becomes a page showing the code (or the error) to copy.
 */
export function installOobPage(provider: Provider): void {
  provider.use(oobRedirectPage);
}
