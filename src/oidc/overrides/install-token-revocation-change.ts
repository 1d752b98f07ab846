import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { KeyEventStore } from '../../events/key-events.js';

/*
 * Why: guards hold leases of access tokens as they do of keys (issue 27
 * item 3), so a token revoked at /token/revocation must reach them as a
 * key's revocation does, or a guard would allow it until its lease ends.
 * Changes: after oidc-provider lib/actions/revocation.js has answered 200,
 * an access token it found (ctx.oidc.entities) and that is gone now (the
 * allowed policy let it be destroyed) is a change to its client on the
 * guards' event stream (GET /keys/events), written before the answer leaves.
 */
export function installTokenRevocationChange(
  provider: Provider,
  deps: { readonly keyEvents: KeyEventStore; readonly now: () => number },
): void {
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route !== 'revocation' || ctx.status !== 200) return;
    const entities = ctx.oidc.entities as { AccessToken?: Token; ClientCredentials?: Token };
    const found = entities.AccessToken ?? entities.ClientCredentials;
    if (!found?.clientId || !found.jti) return;
    const still = entities.AccessToken
      ? await provider.AccessToken.find(found.jti)
      : await provider.ClientCredentials.find(found.jti);
    // Still there: the caller may not revoke it (RFC 7009 §2.1), nothing changed.
    if (still) return;
    await deps.keyEvents.record(found.clientId, deps.now());
  });
}

interface Token {
  readonly clientId?: string;
  readonly jti?: string;
}
