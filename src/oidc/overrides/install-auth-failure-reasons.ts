import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { noteAuthFailure, notedAuthFailure } from '../../observability/auth-failure-reasons.js';
import { refusedClientAuthReason } from '../refused-client-auth.js';

/*
 * Why: oidc-provider tells a client only "client authentication failed"
 * (RFC 6749 §5.2); the log line and keyport_client_auth_failures_total say
 * why, from the closed set in observability/auth-failure-reasons.ts.
 * Changes: nothing on the wire; listens to oidc-provider's `grant.error`,
 * `introspection.error` and `revocation.error` events (lib/shared/error_handler.js).
 * Most reasons are noted by keyport's checks as they refuse; an
 * `invalid_client` oidc-provider decided alone is classified by keyport's own
 * reading of the request (refused-client-auth.ts), never by its error text.
 */
export function installAuthFailureReasons(provider: Provider, deps: { readonly clockSkewSeconds: number }): void {
  const classify = (ctx: KoaContextWithOIDC, err: { error?: string }) => {
    if (err.error !== 'invalid_client') return;
    if (notedAuthFailure(ctx.state) === undefined)
      noteAuthFailure(ctx.state, refusedClientAuthReason(ctx, deps.clockSkewSeconds));
  };
  provider.on('grant.error', classify);
  provider.on('introspection.error', classify);
  provider.on('revocation.error', classify);
}
