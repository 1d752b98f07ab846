import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../../config.js';
import type { ClientStore } from '../../clients/store.js';
import { createKeyInspector } from '../../verification/verify.js';

/*
 * Why: RFC 7009 revocation of a raw API key answered 200 and changed nothing,
 * so a service account that leaked its key and "revoked" it kept a live key.
 * RFC 7009 §2.1 lets a server revoke related credentials; keyport revokes the
 * key only when the caller authenticated as that key's own client. Any other
 * caller (another client, a resource server) gets the provider's 200 and
 * nothing changes (§2.2: the answer says nothing about other clients' keys).
 * Changes: after oidc-provider lib/actions/revocation.js has answered 200
 * (it found no token for the string), a string that is the caller's own valid
 * key revokes that client, as `revoke` does (client.revoked event, guards told).
 */
export function installApiKeyRevocation(
  provider: Provider,
  deps: {
    readonly clients: ClientStore;
    readonly config: Config;
    readonly revokeKey: (clientId: string) => Promise<unknown>;
  },
): void {
  const keys = createKeyInspector({ config: deps.config, clients: deps.clients });
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const token = (ctx.oidc?.params as { token?: unknown } | undefined)?.token;
    const caller = ctx.oidc?.client;
    if (ctx.oidc?.route !== 'revocation' || ctx.status !== 200 || !caller) return;
    if (typeof token !== 'string' || token.length > 512) return;
    const outcome = await keys.inspect(token);
    if (outcome.kind !== 'valid' || outcome.key.client.clientId !== caller.clientId) return;
    await deps.revokeKey(caller.clientId);
  });
}
