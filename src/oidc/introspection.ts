import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import type { ClientStore } from '../clients/store.js';
import type { RoleService } from '../clients/roles.js';
import { currentScope } from '../clients/scopes.js';
import { keyportMetadata } from '../clients/metadata.js';
import { createKeyInspector } from '../verification/verify.js';
import { isForApis } from './api-resource.js';
import { countOnSuccess } from './overrides/install-usage-on-success.js';

/*
 * keyport's additions to oidc-provider's introspection (RFC 7662), installed
 * with provider.use: both run after the provider has answered and only
 * rewrite its answer.
 */

/**
 * RFC 7662 introspection of a raw API key (docs/contract.md): what oidc-provider
 * finds no token for may be a service account's key, checked by the key
 * pipeline's find and check steps (verification/verify.ts), with nothing spent.
 * Answered as `token_type: "api_key"`, so a standard introspecting proxy works
 * with keys, only to a resource server or the key's own client: as for
 * tokens (RFC 7662 §4, mayIntrospectOrRevoke), any other client is told
 * `{active:false}`, the answer for a key it may not see as for one that does not exist.
 */
export function introspectApiKeys(
  clients: ClientStore,
  config: Config,
  roles?: Pick<RoleService, 'effectivePermissions'>,
) {
  const keys = createKeyInspector({ config, clients, roles });
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const body = ctx.body as { active?: boolean } | undefined;
    const token = (ctx.oidc?.params as { token?: unknown } | undefined)?.token;
    const caller = ctx.oidc?.client;
    if (
      ctx.oidc?.route !== 'introspection' ||
      body?.active !== false ||
      !caller ||
      typeof token !== 'string' ||
      token.length > 512
    )
      return;
    const outcome = await keys.inspect(token);
    if (outcome.kind !== 'valid') return;
    const { client, scopes, permissions } = outcome.key;
    if (keyportMetadata(caller).kind !== 'resource_server' && caller.clientId !== client.clientId) return;
    countOnSuccess(ctx, client.clientId);
    ctx.body = {
      active: true,
      token_type: 'api_key',
      client_id: client.clientId,
      scope: scopes.join(' '),
      team_id: client.teamId,
      environment: client.environment,
      ...(client.userId !== null ? { sub: String(client.userId) } : {}),
      ...(client.expiresAt !== null ? { exp: client.expiresAt } : {}),
      ...(client.meta !== null ? { meta: client.meta } : {}),
      // What the key may do now: its own permissions and its roles' (issue 28 item 2).
      permissions,
      iss: config.issuer,
    };
  };
}

/** Introspection answers with the scopes the token's client holds now (see current-scopes.ts). */
export async function introspectCurrentScope(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as { active?: boolean; scope?: string } | undefined;
  if (ctx.oidc?.route !== 'introspection' || !body?.active || typeof ctx.state.tokenOwnerScope !== 'string') return;
  const scope = currentScope(body.scope, ctx.state.tokenOwnerScope);
  ctx.body = scope ? { ...body, scope } : (({ scope: _dropped, ...rest }) => rest)(body);
}

/**
 * A resource server is told only of tokens meant for APIs (api-resource.ts):
 * a token a person approved for sign-in only is for userinfo, and answers
 * `{active:false}` as RFC 7662 §2.2 has for a token the caller may not use,
 * so an introspecting proxy cannot let it in as the team. The token's own
 * client still sees it active. Runs outermost: it judges the final answer.
 */
export function introspectForApisOnly(config: Config) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const body = ctx.body as
      { active?: boolean; aud?: unknown; scope?: string; client_id?: string; token_type?: string } | undefined;
    const caller = ctx.oidc?.client;
    if (ctx.oidc?.route !== 'introspection' || !body?.active || !caller || body.token_type === 'api_key') return;
    if (keyportMetadata(caller).kind !== 'resource_server' || body.client_id === caller.clientId) return;
    if (!isForApis(body.aud, body.scope, config.scopes)) ctx.body = { active: false };
  };
}
