import Provider, { type AdapterPayload } from 'oidc-provider';
import { noteInvalidClient } from '../observability/auth-failure-reasons.js';
import type { Config } from '../config.js';
import { hasApiAccess, isValid } from '../clients/client.js';
import { oidcMetadataFor } from '../clients/kinds.js';
import type { ClientStore } from '../clients/store.js';
import { createBatcher } from '../db/batch.js';
import { nowSeconds } from '../db/knex.js';
import type { ClientMetadataLoader } from './adapter.js';

/** keyport's own client metadata, carried on oidc-provider's Client (extraClientMetadata). */
export const KEYPORT_CLIENT_METADATA = [
  'team_id',
  'user_id',
  'environment',
  'kind',
  'api_access',
  'plan',
  'previous_secret_hash',
  'has_key_digest',
  'key_digest',
] as const;

export interface KeyportClientMetadata {
  readonly team_id: number | null;
  readonly user_id: number | null;
  readonly environment: 'prod' | 'dev';
  readonly kind: string;
  readonly api_access: boolean;
  /** The team's plan, for its rate limits (absent for resource servers). */
  readonly plan?: string;
  /** The secret replaced by a rotation, while its grace period lasts. */
  readonly previous_secret_hash?: string;
  /** Whether the secret can be found by its digest (a key made before digests gains one at its next use). */
  readonly has_key_digest: boolean;
  /** The current secret's digest, while it is bound to the stored hash (generated keys only). */
  readonly key_digest?: string;
}

const metadataOf = new WeakMap<object, KeyportClientMetadata>();

/**
 * keyport's metadata of an oidc-provider Client. `metadata()` builds a new
 * object of every property on each call, and a token request asks several
 * times; a Client never changes once built (a changed row builds a new one),
 * so its answer is kept with it.
 */
export function keyportMetadata(client: { metadata(): object }): KeyportClientMetadata {
  let meta = metadataOf.get(client);
  if (!meta) metadataOf.set(client, (meta = Object.freeze(client.metadata()) as unknown as KeyportClientMetadata));
  return meta;
}

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
      noteInvalidClient(Provider.ctx?.state, client.revokedAt !== null ? 'client_revoked' : 'client_expired');
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
      ...(client.teamPlan !== undefined ? { plan: client.teamPlan } : {}),
      ...(inGrace && client.secretHash ? { previous_secret_hash: client.previousSecretHash! } : {}),
      has_key_digest: client.keyDigest !== null,
      ...(client.keyDigest !== null ? { key_digest: client.keyDigest } : {}),
    };
    return { ...metadata, ...extra } as unknown as AdapterPayload;
  };
}
