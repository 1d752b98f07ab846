import Provider from 'oidc-provider';
import type { ClientMetadataLoader } from '../../persistence/sql/oidc-adapter.js';
import { noteAuthFailure } from '../../observability/auth-failure-reasons.js';

/*
 * Why: oidc-provider builds a Client object (metadata validation, key import)
 * from the adapter's row and keeps the last 100 by a hash of the row. With
 * more active clients than that, every request rebuilds one.
 * Changes: oidc-provider lib/models/client.js, `Client.find` (its static-client
 * and metadata-document branches are dropped: keyport has neither).
 */

const CLIENT_OBJECTS = 2000;

type OidcClient = InstanceType<Provider['Client']>;

/**
 * Client.find with room for 2,000 built clients. The row is still read on
 * every call, and a Client is reused only for the same row content: a
 * revocation, expiry or rotation changes the row, so it is never served from
 * the cache. An id that finds nothing is noted as `unknown_client` unless the
 * loader noted why (revoked, expired).
 */
export function installClientLookup(provider: Provider, deps: { readonly loadClient: ClientMetadataLoader }): void {
  const built = new Map<string, { row: string; client: OidcClient }>();
  const Client = provider.Client;
  // @types/oidc-provider declares no constructor for Client; the provider's takes the metadata.
  const Build = Client as unknown as new (metadata: object) => OidcClient;
  Client.find = async (id: string) => {
    const properties = typeof id === 'string' && id.length ? await deps.loadClient(id) : undefined;
    if (!properties) {
      const state = Provider.ctx?.state as Record<string, unknown> | undefined;
      if (state?.authFailureReason === undefined) noteAuthFailure(state, 'unknown_client');
      return undefined;
    }
    const row = JSON.stringify(properties);
    const kept = built.get(id);
    built.delete(id);
    const client = kept?.row === row ? kept.client : new Build(properties);
    if (built.size >= CLIENT_OBJECTS) built.delete(built.keys().next().value!);
    built.set(id, { row, client });
    return client;
  };
}
