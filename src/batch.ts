/**
 * Gathers the calls made during one turn of the event loop and serves them
 * with one query (the DataLoader pattern): under load, a dozen concurrent
 * requests share one round trip instead of making a dozen.
 *
 * A call never joins a query that was already sent: the batch goes out on
 * the next `setImmediate`, after every call in it was made. So each call
 * still sees every write committed before it was made: batching changes how
 * many round trips there are, not what is read or when it is written.
 */
export function createBatcher<K, V>(
  run: (keys: readonly K[]) => Promise<readonly V[]>,
  maxBatch = 200,
): (key: K) => Promise<V> {
  let pending: Array<{ key: K; resolve(value: V): void; reject(err: unknown): void }> = [];

  const flush = () => {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += maxBatch) {
      const part = batch.slice(i, i + maxBatch);
      Promise.resolve(part.map((p) => p.key))
        .then(run)
        .then(
          (values) => part.forEach((p, j) => p.resolve(values[j]!)),
          (err: unknown) => part.forEach((p) => p.reject(err)),
        );
    }
  };

  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ key, resolve, reject });
    });
}
