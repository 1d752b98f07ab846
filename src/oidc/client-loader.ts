import Provider, { type AdapterPayload } from 'oidc-provider';
import { noteAuthFailure } from '../observability/auth-failure-reasons.js';
import type { Config } from '../config.js';
import { hasApiAccess, isValid } from '../clients/client.js';
import { oidcMetadataFor } from '../clients/kinds.js';
import type { ClientStore } from '../clients/store.js';
import { createBatcher } from '../batch.js';
import { nowSeconds } from '../persistence/sql/knex.js';
import type { ClientMetadataLoader } from '../persistence/sql/oidc-adapter.js';
import type { KeyportClientMetadata } from '../clients/metadata.js';

// Client ids are printable ASCII; anything else cannot name a client and is not looked up.
const PLAUSIBLE_ID = /^[\x21-\x7e]{1,64}$/;

/**
 * Reads the client from `o_auth_clients` on every lookup, so a row inserted
 * or edited by hand, a revocation or an expiry takes effect at once.
 * Lookups made at the same moment share one query (db/batch.ts).
 * A revoked, expired or credential-less client is not found: every use of it
 * answers `invalid_client`, and its tokens introspect as inactive.
 */
export function createClientLoader(config: Config, clients: ClientStore): ClientMetadataLoader {
  const find = createBatcher((ids: readonly string[]) => clients.findManyById(ids));
  return async (clientId) => {
    if (!PLAUSIBLE_ID.test(clientId)) return undefined;
    const client = await find(clientId);
    if (!client) return undefined;
    if (!isValid(client, nowSeconds())) {
      // oidc-provider is told "not found"; the log and metrics are told why.
      noteAuthFailure(Provider.ctx?.state, client.revokedAt !== null ? 'client_revoked' : 'client_expired');
      return undefined;
    }
    const metadata = oidcMetadataFor(client, client.scopes ?? config.defaultScopes);
    if (!metadata) return undefined;
    const now = nowSeconds();
    const inGrace = client.previousSecretHash !== null && (client.previousSecretExpiresAt ?? 0) > now;
    const extra: KeyportClientMetadata = {
      team_id: client.teamId,
      user_id: client.userId,
      environment: client.environment,
      kind: client.kind,
      api_access: hasApiAccess(client, config.plans),
      ...(client.teamSuspended ? { team_suspended: true } : {}),
      ...(client.teamPlan !== undefined ? { plan: client.teamPlan } : {}),
      ...(inGrace && client.secretHash ? { previous_secret_hash: client.previousSecretHash! } : {}),
      has_key_digest: client.keyDigest !== null,
      ...(client.keyDigest !== null ? { key_digest: client.keyDigest } : {}),
      ...(client.allowedIps.length ? { allowed_ips: client.allowedIps } : {}),
    };
    return { ...metadata, ...extra } as unknown as AdapterPayload;
  };
}
