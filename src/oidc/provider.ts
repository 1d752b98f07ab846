import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import type { ClientMetadataLoader } from '../persistence/sql/oidc-adapter.js';
import { createAdapterFactory } from '../persistence/sql/oidc-adapter.js';
import { assertClientAssertion } from './client-assertions.js';
import { KEYPORT_CLIENT_METADATA, keyportMetadata } from '../clients/metadata.js';
import type { KeyMaterial } from '../persistence/signing-keys.js';
import { errorPage } from './interactions/pages.js';
import type { Db } from '../persistence/sql/knex.js';
import type { TeamStore } from '../teams/store.js';
import type { ClientStore } from '../clients/store.js';
import { findTeamMember, teamMembershipPolicy } from './team-members.js';
import { OIDC_SCOPES } from '../clients/scopes.js';
import { OOB_REDIRECT_URI } from '../clients/kinds.js';
import type { UsageRecorder } from '../clients/usage.js';
import type { OAuthLimits } from './oauth-guard.js';
import { clientAuthenticated } from './client-authenticated.js';
import { installClientLookup } from './overrides/install-client-lookup.js';
import { installSecretComparison } from './overrides/install-secret-comparison.js';
import { installAuthFailureReasons } from './overrides/install-auth-failure-reasons.js';
import { installClientAuthThrottle } from './overrides/install-client-auth-throttle.js';
import { installOobPage } from './overrides/install-oob-page.js';
import { installAuthorizationRequestLimit } from './overrides/install-authorization-request-limit.js';
import { installBasicAsSent } from './overrides/install-basic-as-sent.js';
import { installPageHeaders } from './overrides/install-page-headers.js';
import { installIntrospectionAdditions } from './overrides/install-introspection-additions.js';
import { installNoFormPost } from './overrides/install-no-form-post.js';
import { countOnSuccess, installUsageOnSuccess } from './overrides/install-usage-on-success.js';
import { installUnavailableAnswers } from './overrides/install-unavailable-answers.js';
import { installTokenErrorWording } from './overrides/install-token-error-wording.js';
import { installApiKeyRevocation } from './overrides/install-api-key-revocation.js';
import { installUserinfoForApiTokens } from './overrides/install-userinfo-for-api-tokens.js';
import { installTokenRevocationPushes } from './overrides/install-token-revocation-pushes.js';
import { resourceServerOf } from '../clients/resource-indicators.js';
import type { KeyEventStore } from '../events/key-events.js';
import type { JwtAccessTokens } from './jwt-access-tokens.js';
import type { RevokedTokenStore } from '../clients/revoked-tokens.js';

export interface ProviderDeps {
  readonly config: Config;
  readonly db: Db;
  /** A read replica of `db` (`database_read_url`): access tokens are found there first. */
  readonly readDb?: Db;
  readonly keys: KeyMaterial;
  readonly loadClient: ClientMetadataLoader;
  readonly usage: UsageRecorder;
  readonly limits: OAuthLimits;
  readonly teams: TeamStore;
  readonly clients: ClientStore;
  /** Revokes a key (the client service's revoke): RFC 7009 revocation of a caller's own raw key. */
  readonly revokeKey: (clientId: string) => Promise<unknown>;
  /** A key's roles, for the permissions introspection lists (issue 28 item 2). */
  readonly roles?: Pick<RoleService, 'effectivePermissions'>;
  /** The guards' change feed: a revoked token is a change to its client. */
  readonly keyEvents: KeyEventStore;
  /** JWT access tokens signed with `keys`, and their revocations. */
  readonly jwtTokens: JwtAccessTokens;
  readonly revokedTokens: RevokedTokenStore;
  /** Milliseconds now (the composition's clock). */
  readonly now?: () => number;
}

import { API_RESOURCE, USERINFO_SCOPES } from './api-resource.js';
import type { RoleService } from '../clients/roles.js';

export { API_RESOURCE };

type OidcClient = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/**
 * The oidc-provider configuration. Everything that would need a client
 * secret in clear (client_secret_jwt, HS* algorithms, encryption, dynamic
 * registration, request objects) stays off, since keyport keeps only hashes.
 */
/** RFC 6749 §4.1.2 recommends at most 10 minutes; a redirected code needs far less. */
const REDIRECTED_CODE_TTL_SECONDS = 60;

export function createProvider({
  config,
  db,
  readDb,
  keys,
  loadClient,
  usage,
  limits,
  teams,
  clients,
  revokeKey,
  roles,
  keyEvents,
  jwtTokens,
  revokedTokens,
  now = Date.now,
}: ProviderDeps): Provider {
  const configuration: Configuration = {
    adapter: createAdapterFactory(db, loadClient, undefined, readDb),
    jwks: keys.jwks as Configuration['jwks'],
    cookies: { keys: keys.cookieKeys },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256'],
      idTokenSigningAlgValues: ['RS256'],
      userinfoSigningAlgValues: ['RS256'],
      introspectionSigningAlgValues: ['RS256'],
      authorizationSigningAlgValues: ['RS256'],
      requestObjectSigningAlgValues: ['RS256'],
    },
    scopes: [...OIDC_SCOPES, ...Object.keys(config.scopes)],
    // OpenID Connect for apps: what an ID token and userinfo may say about the person.
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => {
          const allowed = await mayIntrospectOrRevoke(ctx, client, token);
          // An introspection of a client's token is a use of that client's key.
          if (allowed && token.clientId) countOnSuccess(ctx, token.clientId);
          return allowed;
        },
      },
      revocation: { enabled: true, allowedPolicy: mayIntrospectOrRevoke },
      registration: { enabled: false },
      // Endpoints keyport does not use are off: each would be one more place
      // that authenticates clients or stores state for anonymous callers.
      pushedAuthorizationRequests: { enabled: false },
      // Sender-constrained tokens would need every resource server (and the guard) to check proofs.
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      deviceFlow: { enabled: false },
      ciba: { enabled: false },
      backchannelLogout: { enabled: false },
      encryption: { enabled: false },
      requestObjects: { enabled: false },
      // One resource server, "the API": access tokens carry catalogue scopes
      // only when issued for a resource (RFC 8707), so every token is.
      resourceIndicators: {
        enabled: true,
        // A request for API scopes is for the API; one for OpenID Connect
        // scopes only gets a token for userinfo (oidc-provider's default).
        defaultResource: (ctx, _client, oneOf) => {
          if (oneOf) return oneOf;
          const asked = String(ctx.oidc.params?.scope ?? '').split(' ');
          const oidcOnly = asked.some((s) => s === 'openid') && !asked.some((s) => Object.hasOwn(config.scopes, s));
          return oidcOnly ? undefined : API_RESOURCE;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          // The API's token also carries the granted sign-in scopes, so the one token an app
          // gets reads userinfo too (overrides/install-userinfo-for-api-tokens.ts).
          const scope = [...Object.keys(config.scopes), ...USERINFO_SCOPES].join(' ');
          if (indicator === API_RESOURCE) return { scope, accessTokenFormat: 'opaque', audience: API_RESOURCE };
          // A resource server that chose JWT access tokens (resourceserveradd -jwt) is its own resource:
          // RFC 9068 tokens signed with keyport's keys, with its indicator as `aud`, checked at its guards.
          const serverId = resourceServerOf(indicator);
          const server = serverId === undefined ? undefined : await clients.findById(serverId);
          if (server?.kind !== 'resource_server' || server.accessTokenFormat !== 'jwt' || server.revokedAt !== null)
            throw new errors.InvalidTarget(
              `the resource is ${API_RESOURCE}, or urn:keyport:rs:<client_id> of a resource server with JWT access tokens`,
            );
          return {
            scope,
            audience: indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: config.accessTokenTtlSeconds,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    formats: {
      customizers: {
        // An app's JWT access token names the grant (the person's approval) it came from, so
        // /keys/verify refuses it once the person is removed or the approval is gone.
        jwt: async (_ctx, token, jwt) => {
          const grantId = (token as { grantId?: string }).grantId;
          if (grantId && (token as { accountId?: string }).accountId !== undefined) jwt.payload.grant_id = grantId;
        },
      },
    },
    rotateRefreshToken: true,
    // Apps may use refresh tokens without asking for offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    extraClientMetadata: { properties: [...KEYPORT_CLIENT_METADATA] },
    extraTokenClaims: async (ctx, token) => {
      const claims = await issuancePolicy(ctx, token);
      if (token.clientId) countOnSuccess(ctx, token.clientId);
      return claims;
    },
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims, header, client) => {
      await assertClientAssertion(ctx, claims, header, {
        maxLifetimeSeconds: config.maxAssertionLifetimeSeconds,
        clockSkewSeconds: config.clockSkewSeconds,
      });
      await clientAuthenticated(limits, client);
    },
    ttl: {
      AccessToken: config.accessTokenTtlSeconds,
      ClientCredentials: config.accessTokenTtlSeconds,
      // A redirect is redeemed by software at once; a code on the oob page is copied by a person.
      AuthorizationCode: (_ctx, code) =>
        code.redirectUri === OOB_REDIRECT_URI ? config.oobCodeTtlSeconds : REDIRECTED_CODE_TTL_SECONDS,
      RefreshToken: 30 * 86_400,
      Grant: 30 * 86_400,
      // Long enough to sign in and approve; an abandoned one is gone soon.
      Interaction: 600,
      Session: 14 * 86_400,
      IdToken: 3600,
    },
    clockTolerance: config.clockSkewSeconds,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: teamMembershipPolicy() },
    // Error pages are plain HTML with every value escaped and nothing that runs.
    // keyport's page headers come from overrides/install-page-headers.ts.
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(String(out.error), out.error_description ? String(out.error_description) : undefined);
    },
    findAccount: findTeamMember(teams),
  };

  const provider = new Provider(config.issuer, configuration);

  // Each change to oidc-provider's behaviour, one file each in overrides/ (README "oidc-provider changes").
  // provider.use runs in this order, before the provider's own routes.
  installUsageOnSuccess(provider, { usage });
  installUnavailableAnswers(provider);
  installClientLookup(provider, { loadClient });
  installSecretComparison(provider, { limits, clients });
  installAuthFailureReasons(provider, { clockSkewSeconds: config.clockSkewSeconds });
  installClientAuthThrottle(provider, { limits });
  installOobPage(provider);
  installAuthorizationRequestLimit(provider, { ipv6Prefix: config.ipv6ThrottlePrefix });
  installBasicAsSent(provider);
  installPageHeaders(provider);
  installIntrospectionAdditions(provider, { clients, config, roles });
  installNoFormPost(provider);
  installTokenErrorWording(provider);
  installApiKeyRevocation(provider, { clients, config, revokeKey });
  installUserinfoForApiTokens(provider);
  installTokenRevocationPushes(provider, { keyEvents, jwtTokens, revokedTokens, now });
  return provider;
}

/**
 * RFC 7662 §4 and RFC 7009 §2.1: a resource server may introspect and revoke
 * any token; any other client only its own. A token whose client was revoked
 * or expired is no longer active.
 */
async function mayIntrospectOrRevoke(
  ctx: KoaContextWithOIDC,
  client: OidcClient,
  token: { clientId?: string },
): Promise<boolean> {
  if (!token.clientId) return false;
  const owner = token.clientId === client.clientId ? client : await ctx.oidc.provider.Client.find(token.clientId);
  if (!owner) return false;
  ctx.state.tokenOwnerScope = owner.scope ?? '';
  return token.clientId === client.clientId || keyportMetadata(client).kind === 'resource_server';
}

/**
 * Runs as each access token is issued, before it is stored: refuses clients
 * whose team lost API access (RFC 6749 §5.2 unauthorized_client) and scopes
 * outside the client's own (§5.2 invalid_scope), then adds what resource
 * servers need from introspection: the team and the acting service account.
 */
async function issuancePolicy(
  ctx: KoaContextWithOIDC,
  token: { clientId?: string; scope?: string; accountId?: string },
) {
  const client =
    ctx.oidc.client?.clientId === token.clientId
      ? ctx.oidc.client
      : await ctx.oidc.provider.Client.find(token.clientId ?? '');
  if (!client) throw new errors.InvalidClient('client not found');
  const meta = keyportMetadata(client);
  if (meta.team_suspended) throw new errors.UnauthorizedClient('the team is suspended');
  if (!meta.api_access) throw new errors.UnauthorizedClient("the team's plan does not include API access");

  // oidc-provider drops scopes it does not know from the parameters; read
  // the request body so a client asking for one is told, not silently ignored.
  const body = ctx.oidc.body;
  const requested =
    ctx.oidc.params?.grant_type === 'client_credentials' && typeof body?.scope === 'string'
      ? body.scope
      : (token.scope ?? '');
  const allowed = new Set([...(client.scope ?? '').split(' '), ...OIDC_SCOPES]);
  const refused = requested.split(' ').filter((s) => s && !allowed.has(s));
  if (refused.length) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));

  return {
    team_id: meta.team_id,
    environment: meta.environment,
    // Client credentials act as the service-account user (RFC 7662 §2.2 `sub`).
    ...(token.accountId === undefined && meta.user_id !== null ? { sub: String(meta.user_id) } : {}),
  };
}
