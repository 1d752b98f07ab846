import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import type { ClientMetadataLoader } from '../persistence/sql/oidc-adapter.js';
import { createAdapterFactory } from '../persistence/sql/oidc-adapter.js';
import { assertClientAssertion } from './client-assertions.js';
import { KEYPORT_CLIENT_METADATA, keyportMetadata } from '../clients/metadata.js';
import { rfc6749TokenErrors } from './rfc6749-token-errors.js';
import type { KeyMaterial } from '../persistence/signing-keys.js';
import { PAGE_HEADERS } from '../web/html.js';
import { errorPage } from './interactions/pages.js';
import type { Db } from '../persistence/sql/knex.js';
import type { RedisClient } from '../persistence/redis.js';
import type { TeamStore } from '../teams/store.js';
import type { ClientStore } from '../clients/store.js';
import { keyDigest, looksGenerated } from '../clients/secrets.js';
import { introspectApiKeys, introspectCurrentScope } from './introspection.js';
import { findTeamMember, teamMembershipPolicy } from './team-members.js';
import { OIDC_SCOPES } from '../clients/scopes.js';
import type { UsageRecorder } from '../clients/usage.js';
import { chargeAuthenticatedClient, oauthGuard, providerSecretMatches, type OAuthLimits } from './oauth-guard.js';
import { clientAuthenticatingRoutes } from './client-auth-routes.js';

export interface ProviderDeps {
  readonly config: Config;
  readonly db: Db;
  readonly redis?: RedisClient;
  readonly keys: KeyMaterial;
  readonly loadClient: ClientMetadataLoader;
  readonly usage: UsageRecorder;
  readonly limits: OAuthLimits;
  readonly teams: TeamStore;
  readonly clients: ClientStore;
}

/** The resource indicator (RFC 8707) of the customer-facing API that keyport's tokens are for. */
export const API_RESOURCE = 'urn:keyport:api';

type OidcClient = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/**
 * The oidc-provider configuration. Everything that would need a client
 * secret in clear (client_secret_jwt, HS* algorithms, encryption, dynamic
 * registration, request objects) stays off, since keyport keeps only hashes.
 */
export function createProvider({
  config,
  db,
  redis,
  keys,
  loadClient,
  usage,
  limits,
  teams,
  clients,
}: ProviderDeps): Provider {
  const configuration: Configuration = {
    adapter: createAdapterFactory(db, loadClient, redis),
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
          if (allowed && token.clientId) usage.record(token.clientId);
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
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== API_RESOURCE) throw new errors.InvalidTarget(`the only resource is ${API_RESOURCE}`);
          return { scope: Object.keys(config.scopes).join(' '), accessTokenFormat: 'opaque', audience: API_RESOURCE };
        },
      },
    },
    rotateRefreshToken: true,
    // Apps may use refresh tokens without asking for offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    extraClientMetadata: { properties: [...KEYPORT_CLIENT_METADATA] },
    extraTokenClaims: async (ctx, token) => {
      const claims = await issuancePolicy(ctx, token);
      if (token.clientId) usage.record(token.clientId);
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
      AuthorizationCode: 60,
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
    renderError: async (ctx, out) => {
      ctx.set(PAGE_HEADERS);
      ctx.type = 'html';
      ctx.body = errorPage(String(out.error), out.error_description ? String(out.error_description) : undefined);
    },
    findAccount: findTeamMember(teams),
  };

  const provider = new Provider(config.issuer, configuration);

  // keyport stores bcrypt hashes where oidc-provider expects the secret:
  // compare through bcrypt instead of the provider's constant-time equality.
  // During a rotation's grace period the previous secret matches too.
  (
    provider.Client.prototype as unknown as { compareClientSecret(actual: string): Promise<boolean> }
  ).compareClientSecret = async function compareClientSecret(this: OidcClient, actual: string) {
    // A secret verified before against the same stored hash needs no bcrypt;
    // a throttled client_id is refused either way (see secretMatches).
    const meta = keyportMetadata(this);
    const matches = await providerSecretMatches(
      limits,
      this.clientId,
      actual,
      [this.clientSecret, meta.previous_secret_hash],
      meta.key_digest,
    );
    if (!matches) return false;
    await clientAuthenticated(limits, this);
    // A service account's key made before keys had digests gains one when its current secret matches, so it works as an API key from now on.
    if (
      meta.kind === 'service_account' &&
      !meta.has_key_digest &&
      looksGenerated(actual) &&
      this.clientSecret &&
      limits.verified.has(this.clientId, this.clientSecret, actual)
    ) {
      await clients.setKeyDigestIfMissing(this.clientId, keyDigest(actual), this.clientSecret);
    }
    return true;
  };

  cacheClientObjects(provider, loadClient);

  provider.use(oauthGuard(limits, clientAuthenticatingRoutes(provider)));
  provider.use(introspectCurrentScope);
  provider.use(introspectApiKeys(clients, config, usage));
  provider.use(noFormPost(provider.pathFor('authorization')));
  provider.use(rfc6749TokenErrors);
  return provider;
}

const CLIENT_OBJECTS = 2000;

/**
 * oidc-provider builds a Client object (metadata validation, key import)
 * from the adapter's row and keeps the last 100 by a hash of the row. With
 * more active clients than that, every request rebuilds one. This find does
 * what the provider's does for adapter-backed clients (keyport has no static
 * clients and no client metadata documents) with room for 2,000. The row is
 * still read on every call, and a Client is reused only for the same row
 * content: a revocation, expiry or rotation changes the row, so it is never
 * served from the cache.
 */
function cacheClientObjects(provider: Provider, loadClient: ClientMetadataLoader): void {
  const built = new Map<string, { row: string; client: OidcClient }>();
  const Client = provider.Client as unknown as {
    new (metadata: object): OidcClient;
    find(id: string): Promise<OidcClient | undefined>;
  };
  Client.find = async (id: string) => {
    if (typeof id !== 'string' || !id.length) return undefined;
    const properties = await loadClient(id);
    if (!properties) return undefined;
    const row = JSON.stringify(properties);
    const kept = built.get(id);
    built.delete(id);
    const client = kept?.row === row ? kept.client : new Client(properties);
    if (built.size >= CLIENT_OBJECTS) built.delete(built.keys().next().value!);
    built.set(id, { row, client });
    return client;
  };
}

/**
 * Runs once a client has proven who it is (secret or assertion), before the
 * endpoint does any work: charges its plan budget, and gives a
 * client_credentials request without `scope` every scope the client was
 * registered with, as Auth0 and Keycloak do (openid-client's
 * clientCredentialsGrant and simple-oauth2 send none by default).
 */
async function clientAuthenticated(limits: OAuthLimits, client: OidcClient): Promise<void> {
  await chargeAuthenticatedClient(limits, client);
  const ctx = Provider.ctx as KoaContextWithOIDC | undefined;
  const params = ctx?.oidc?.params as { grant_type?: unknown; scope?: unknown } | undefined;
  if (ctx?.oidc.route === 'token' && params?.grant_type === 'client_credentials' && !params.scope && client.scope)
    params.scope = client.scope;
}

/**
 * response_mode=form_post answers with an auto-submitting page whose inline
 * script keyport's page policy (no inline script, form-action limited to the
 * app's origins) would stop: it is refused with a clear error and left out
 * of discovery, so a client picks query or fragment instead.
 */
function noFormPost(authorizationPath: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
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
  };
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
  if (!meta.api_access) throw new errors.UnauthorizedClient("the team's plan does not include API access");

  // oidc-provider drops scopes it does not know from the parameters; read
  // the request body so a client asking for one is told, not silently ignored.
  const body = (ctx.oidc as unknown as { body?: Record<string, unknown> }).body;
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
