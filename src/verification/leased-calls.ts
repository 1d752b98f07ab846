import type { KeyUsage } from '../clients/key-usage.js';
import type { ClientStore } from '../clients/store.js';
import type { UsageRecorder } from '../clients/usage.js';

/** Calls a guard allowed on its own from a key's lease, named by the key's SHA-256 (keyDigest). */
export interface LeasedCalls {
  readonly key_digest: string;
  readonly calls: number;
}

export interface LeasedCallsRecorder {
  /**
   * `POST /keys/usage`: counts the reported calls in each key's usage
   * (usage_count, hourly usage), as `leased_calls` with a verification
   * does. Nothing is spent: the lease's calls were spent when it was
   * granted. A digest of no API key is ignored. Answers the calls counted.
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
      const found = await deps.clients.findByKeyDigest(reports.map((r) => r.key_digest));
      let counted = 0;
      reports.forEach(({ calls }, i) => {
        const client = found[i];
        // Only an API key gets a lease; the calls were made whether or not it was revoked since.
        if (client?.kind !== 'service_account') return;
        deps.keyUsage.record(client.clientId, 'valid', undefined, undefined, calls);
        deps.usage.record(client.clientId, undefined, calls);
        counted += calls;
      });
      return counted;
    },
  };
}
