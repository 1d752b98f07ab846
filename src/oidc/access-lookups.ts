import type Provider from 'oidc-provider';
import type { AccessTokenLookup, ClientMetadataLookup } from '../access/callers.js';
import { keyportMetadata } from '../clients/metadata.js';
import { isForApis } from './api-resource.js';
import type { JwtAccessTokens } from './jwt-access-tokens.js';

/**
 * oidc-provider's tokens and clients behind the access module's lookups, so
 * that src/access/ knows no oidc-provider. A token of either kind this server
 * issues counts: client_credentials or an app's (authorization_code).
 */
export function providerAccessTokens(
  provider: Provider,
  catalogue: Readonly<Record<string, string>>,
  jwtTokens?: JwtAccessTokens,
): AccessTokenLookup {
  return {
    async find(value) {
      const jwt = await jwtTokens?.find(value);
      if (jwt) {
        // An app's token stands for a person's approval: gone with the person (removed, password reset).
        if (jwt.grantId !== undefined && !(await provider.Grant.find(jwt.grantId))) return undefined;
        return {
          clientId: jwt.clientId,
          scope: jwt.scope,
          forApis: isForApis(jwt.aud, jwt.scope, catalogue),
          ...(jwt.grantId !== undefined && jwt.sub !== undefined ? { accountId: jwt.sub } : {}),
        };
      }
      const token = (await provider.ClientCredentials.find(value)) ?? (await provider.AccessToken.find(value));
      if (!token?.isValid || !token.clientId) return undefined;
      const accountId = 'accountId' in token ? token.accountId : undefined;
      return {
        clientId: token.clientId,
        scope: token.scope,
        // api-resource.ts: a token for userinfo only is no API credential.
        forApis: isForApis(token.aud, token.scope, catalogue),
        ...(accountId === undefined ? {} : { accountId }),
        // Epoch seconds: a lease of the token's budget never outlives the token.
        ...(typeof token.exp === 'number' ? { expiresAt: token.exp } : {}),
      };
    },
  };
}

/** The client as oidc-provider loads it now: unknown, revoked and expired clients are not found. */
export function providerClients(provider: Provider): ClientMetadataLookup {
  return {
    async find(clientId) {
      const client = await provider.Client.find(clientId);
      return client ? { scope: client.scope, metadata: keyportMetadata(client) } : undefined;
    },
  };
}
