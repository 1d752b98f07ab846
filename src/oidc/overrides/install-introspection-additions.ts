import type Provider from 'oidc-provider';
import type { Config } from '../../config.js';
import type { ClientStore } from '../../clients/store.js';
import type { RoleService } from '../../clients/roles.js';
import { introspectApiKeys, introspectCurrentScope, introspectForApisOnly } from '../introspection.js';

/*
 * Why: a resource server introspects raw API keys the same way as tokens
 * (docs/contract.md), and a token's scopes shrink when its client's do.
 * Changes: the answer of oidc-provider lib/actions/introspection.js: an
 * `{active:false}` for a string that is a service account's key becomes its
 * `token_type: "api_key"` answer; an active token's `scope` is cut to the
 * scopes its client holds now; a token for sign-in only (no API scope, not
 * issued for the API resource) is `{active:false}` to a resource server.
 * All only rewrite the provider's answer.
 */
export function installIntrospectionAdditions(
  provider: Provider,
  deps: {
    readonly clients: ClientStore;
    readonly config: Config;
    readonly roles?: Pick<RoleService, 'effectivePermissions'>;
  },
): void {
  provider.use(introspectForApisOnly(deps.config));
  provider.use(introspectCurrentScope);
  provider.use(introspectApiKeys(deps.clients, deps.config, deps.roles));
}
