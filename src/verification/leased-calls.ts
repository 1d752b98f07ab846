import type { KeyUsage } from '../clients/key-usage.js';
import type { ClientRecord } from '../clients/client.js';
import type { ClientStore } from '../clients/store.js';
import type { UsageRecorder } from '../clients/usage.js';

/**
 * Calls a guard allowed on its own from a lease: named by the key's SHA-256
 * (keyDigest), or by the client whose budget the lease was spent of (its
 * keys' and its access tokens' calls; a token has no digest keyport keeps).
 */
export type LeasedCalls =
  { readonly key_digest: string; readonly calls: number } | { readonly client_id: string; readonly calls: number };

export interface LeasedCallsRecorder {
  /**
   * `POST /keys/usage`: counts the reported calls in each key's usage
   * (usage_count, hourly usage), as `leased_calls` with a verification
   * does. Nothing is spent: the lease's calls were spent when it was
   * granted. A digest of no API key, and a client that is unknown or a
   * resource server (which gets no lease), are ignored. Answers the calls counted.
   */
  record(reports: readonly LeasedCalls[]): Promise<number>;
}

export function createLeasedCallsRecorder(deps: {
  clients: ClientStore;
  usage: UsageRecorder;
  keyUsage: KeyUsage;
}): LeasedCallsRecorder {
  return {
    async record(reports) {
      const byDigest = reports.filter((r) => 'key_digest' in r);
      const byClient = reports.filter((r) => 'client_id' in r);
      const [keys, owners] = await Promise.all([
        byDigest.length ? deps.clients.findByKeyDigest(byDigest.map((r) => r.key_digest)) : [],
        byClient.length ? deps.clients.findManyById(byClient.map((r) => r.client_id)) : [],
      ]);
      let counted = 0;
      const count = (client: ClientRecord | undefined, calls: number, leased: (c: ClientRecord) => boolean) => {
        if (!client || !leased(client)) return;
        deps.keyUsage.record(client.clientId, 'valid', undefined, undefined, calls);
        deps.usage.record(client.clientId, undefined, calls);
        counted += calls;
      };
      // Only an API key gets a lease by its digest; the calls were made whether or not it was revoked since.
      byDigest.forEach(({ calls }, i) => count(keys[i], calls, (c) => c.kind === 'service_account'));
      // Any client that spends a plan budget may hold leases (its keys', its tokens'); a resource server holds none.
      byClient.forEach(({ calls }, i) => count(owners[i], calls, (c) => c.kind !== 'resource_server'));
      return counted;
    },
  };
}
