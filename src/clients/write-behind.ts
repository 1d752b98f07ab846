import { randomUUID } from 'node:crypto';

/**
 * Counts kept in memory and written in one batch every `flushEveryMs`, so a
 * request never waits on a write (usage counts, key usage by hour). Entries
 * under one key merge; each batch is written whole or not at all, under an
 * id of its own. A write that fails may still have been committed (its
 * COMMIT was sent and the answer lost), so the failed batch is kept as it
 * was and written again, first, under the same id, which the store adds
 * once: nothing is lost and nothing is counted twice. While it waits, what
 * comes in merges into the next batch.
 * Bounded: at `maxEntries` keys (waiting or being written) a flush starts at
 * once, and a new key beyond that (the database has been failing for a
 * while) is dropped and counted, so memory stays bounded whatever happens
 * downstream.
 */
export interface WriteBehind<E> {
  /** Merges `entry` into what is waiting under `key`; written with the next flush. */
  add(key: string, entry: E): void;
  /** Writes everything added so far (after any flush still running). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left: a clean shutdown loses nothing while the database answers. */
  close(): Promise<void>;
  /** What could not be written yet, by `weigh`: waiting, in a write not finished, or dropped. */
  readonly unwritten: number;
  /** What was dropped because the buffer was full (by `weigh`). */
  readonly dropped: number;
}

export interface WriteBehindOptions<E> {
  /**
   * Writes one batch, all or nothing. A failed batch is written again with
   * the same `batchId`, which must then add nothing if the first try was committed.
   */
  write(batch: ReadonlyMap<string, E>, batchId: string): Promise<void>;
  /** Folds `from` into `into` (both under one key). */
  merge(into: E, from: E): void;
  /** How much an entry counts in `unwritten` (calls, uses); 1 each by default. */
  weigh?(entry: E): number;
  readonly flushEveryMs?: number;
  readonly maxEntries?: number;
  /** Told when a flush fails (it is retried with the next one). */
  readonly onError?: (err: Error) => void;
}

export function createWriteBehind<E>({
  write,
  merge,
  weigh = () => 1,
  flushEveryMs = 1000,
  maxEntries = 100_000,
  onError = () => undefined,
}: WriteBehindOptions<E>): WriteBehind<E> {
  type Batch = { readonly id: string; readonly entries: ReadonlyMap<string, E>; readonly weight: number };
  let pending = new Map<string, E>();
  /** The batch taken from `pending` and not known to be written: being written, or failed and kept for its retry. */
  let unsure: Batch | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let flushes = 0;
  let dropped = 0;
  const weightOf = (entries: ReadonlyMap<string, E>) => {
    let sum = 0;
    for (const entry of entries.values()) sum += weigh(entry);
    return sum;
  };

  const keep = (key: string, entry: E) => {
    const waiting = pending.get(key);
    if (waiting !== undefined) merge(waiting, entry);
    else if (pending.size + (unsure?.entries.size ?? 0) < maxEntries) pending.set(key, entry);
    else dropped += weigh(entry);
  };

  /** Writes `batch`; true once it is written (now, or by an earlier try of the same id). */
  const written = async (batch: Batch) => {
    try {
      await write(batch.entries, batch.id);
      return true;
    } catch (err) {
      onError(err as Error);
      return false;
    }
  };

  function flush(): Promise<void> {
    flushes += 1;
    flushing = flushing
      .then(async () => {
        // A failed batch goes first, unchanged, so its id still names what it holds.
        if (unsure && !(await written(unsure))) return;
        unsure = undefined;
        if (!pending.size) return;
        unsure = { id: randomUUID(), entries: pending, weight: weightOf(pending) };
        pending = new Map();
        if (await written(unsure)) unsure = undefined;
      })
      .finally(() => {
        flushes -= 1;
      });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushEveryMs);
  timer.unref();

  return {
    add(key, entry) {
      keep(key, entry);
      // Full (counting a failed batch waiting for its retry): write now rather than at the next tick, unless a write is already on its way.
      if (pending.size + (unsure?.entries.size ?? 0) >= maxEntries && flushes === 0) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get unwritten() {
      return (unsure?.weight ?? 0) + weightOf(pending) + dropped;
    },
    get dropped() {
      return dropped;
    },
  };
}
