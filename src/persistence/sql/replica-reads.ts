import type { ClientStore } from '../../clients/store.js';

/** A read of several rows by key, in the order of `keys`; undefined where there is no row. */
export type ReadMany<K, V> = (keys: readonly K[]) => Promise<Array<V | undefined>>;

/**
 * A hot read answered by a read replica (`database_read_url`). What the replica
 * misses is read again on the primary: a row written there a moment ago, that
 * the replica has not replayed yet, is found and never answered as missing.
 * A replica that fails (stopped, out of reach, behind on migrations) is passed
 * over for the primary the same way.
 */
export function replicaFirst<K, V>(replica: ReadMany<K, V>, primary: ReadMany<K, V>): ReadMany<K, V> {
  return async (keys) => {
    let found: Array<V | undefined>;
    try {
      found = await replica(keys);
    } catch {
      return primary(keys);
    }
    const missed = keys.filter((_, i) => found[i] === undefined);
    if (!missed.length) return found;
    const again = await primary(missed);
    let next = 0;
    return found.map((row) => row ?? again[next++]);
  };
}

/**
 * The client store of the hot paths (client authentication, key verification,
 * introspection): a client by id and a key by its digest are read replica
 * first; everything else, writes and reads that must be exact, on the primary.
 * Services that read to change (rotation, revocation, limits) keep the primary store.
 */
export function replicaFirstClients(primary: ClientStore, replica: ClientStore): ClientStore {
  const byId = replicaFirst(replica.findManyById, primary.findManyById);
  return {
    ...primary,
    findManyById: byId,
    findById: async (clientId) => (await byId([clientId]))[0],
    findByKeyDigest: replicaFirst(replica.findByKeyDigest, primary.findByKeyDigest),
  };
}
