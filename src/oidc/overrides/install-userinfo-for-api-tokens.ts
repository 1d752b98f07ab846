import Provider from 'oidc-provider';
import { API_RESOURCE } from '../api-resource.js';

/*
 * Why: an app asking for `openid` with an API scope gets one access token,
 * for the API (RFC 8707; oidc-provider's `useGrantedResource`), and every
 * client library then sends that token to userinfo, which oidc-provider
 * refuses for any token with an audience. The person approved both uses, so
 * the API's token reads userinfo when it carries `openid` (as Auth0's API
 * tokens name the userinfo endpoint among their audiences). Userinfo still
 * answers only the claims of the granted OpenID Connect scopes.
 * Changes: oidc-provider lib/actions/userinfo.js `validateAudience`: for the
 * userinfo route only, `AccessToken.find` hands that action a token issued
 * for the API resource with `openid` without its `aud` (on the object read,
 * never stored). Tokens for any other audience are refused as before.
 */
type AccessToken = InstanceType<Provider['AccessToken']>;
type FindAccessToken = (id: string, options?: object) => Promise<AccessToken | undefined>;

export function installUserinfoForApiTokens(provider: Provider): void {
  const AccessToken = provider.AccessToken as unknown as { find: FindAccessToken };
  const find = AccessToken.find.bind(AccessToken);
  AccessToken.find = async (id, options) => {
    const token = await find(id, options);
    if (token?.aud === API_RESOURCE && token.scopes.has('openid') && Provider.ctx?.oidc?.route === 'userinfo')
      token.aud = undefined;
    return token;
  };
}
