import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { keyportMetadata } from '../../clients/metadata.js';
import type { RevokedTokenStore } from '../../clients/revoked-tokens.js';
import type { KeyEventStore } from '../../events/key-events.js';
import { looksLikeJwt, type JwtAccessTokens } from '../jwt-access-tokens.js';

/*
 * Why: a token revoked at /token/revocation stayed usable at guards that
 * remembered it, and a JWT access token (RFC 9068, not stored) could not be
 * revoked at all: oidc-provider lib/shared/reject_structured_tokens.js answers
 * 400 unsupported_token_type for any JWT at the revocation endpoint.
 * Changes: after oidc-provider has answered, (1) a JWT it refused that way is
 * answered as RFC 7009 §2.2 has for a token it revoked or does not know (200,
 * empty body), and when keyport signed it and the caller is its own client or
 * a resource server (§2.1, as mayIntrospectOrRevoke has for stored tokens),
 * it is recorded as revoked by its `jti` until its `exp`, so /keys/verify
 * refuses it; (2) that token's client is a change on the guards' event stream
 * (GET /keys/events), so every guard drops what it cached about that client's
 * tokens within a second (opaque tokens: install-token-revocation-change.ts).
 */
export function installTokenRevocationPushes(
  provider: Provider,
  deps: {
    readonly keyEvents: KeyEventStore;
    readonly jwtTokens: JwtAccessTokens;
    readonly revokedTokens: RevokedTokenStore;
    readonly now: () => number;
  },
): void {
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const caller = ctx.oidc?.client;
    if (ctx.oidc?.route !== 'revocation' || !caller) return;
    let clientId: string | undefined;
    const value = (ctx.oidc.params as { token?: unknown } | undefined)?.token;
    const structured =
      ctx.status === 400 &&
      (ctx.body as { error?: unknown } | undefined)?.error === 'unsupported_token_type' &&
      typeof value === 'string' &&
      looksLikeJwt(value);
    if (structured) {
      const jwt = value.length <= 4096 ? await deps.jwtTokens.read(value) : undefined;
      if (jwt && (jwt.clientId === caller.clientId || keyportMetadata(caller).kind === 'resource_server')) {
        await deps.revokedTokens.add(jwt.jti, jwt.clientId, jwt.exp);
        clientId = jwt.clientId;
      }
      ctx.status = 200;
      ctx.body = '';
    }
    if (ctx.status === 200 && clientId !== undefined) await deps.keyEvents.record(clientId, deps.now());
  });
}
