/**
 * Counts kept in memory and written in one batch every `flushEveryMs`, so a
 * request never waits on a write (usage counts, key usage by hour). Entries
 * under one key merge; the batch is written whole or not at all, and what a
 * failed write could not write is merged back and goes with the next flush.
 * Bounded: at `maxEntries` keys (waiting or being written) a flush starts at
 * once, and a new key beyond that (the database has been failing for a
 * while) is dropped and counted, so memory stays bounded whatever happens
 * downstream; what a failed write gives back is always kept.
 */
export interface WriteBehind<E> {
  /** Merges `entry` into what is waiting under `key`; written with the next flush. */
  add(key: string, entry: E): void;
  /** Writes everything added so far (after any flush still running). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left: a clean shutdown loses nothing. */
  close(): Promise<void>;
  /** What could not be written yet, by `weigh`: waiting, in a write not finished, or dropped. */
  readonly unwritten: number;
  /** What was dropped because the buffer was full (by `weigh`). */
  readonly dropped: number;
}

export interface WriteBehindOptions<E> {
  /** Writes one batch, all or nothing (a failed batch is retried whole). */
  write(batch: ReadonlyMap<string, E>): Promise<void>;
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
  let pending = new Map<string, E>();
  let flushing: Promise<void> = Promise.resolve();
  let writing = 0;
  let dropped = 0;
  let inFlight = 0;
  let inFlightKeys = 0;
  const weightOf = (batch: ReadonlyMap<string, E>) => {
    let sum = 0;
    for (const entry of batch.values()) sum += weigh(entry);
    return sum;
  };

  const keep = (key: string, entry: E, always = false) => {
    const waiting = pending.get(key);
    if (waiting !== undefined) merge(waiting, entry);
    else if (always || pending.size + inFlightKeys < maxEntries) pending.set(key, entry);
    else dropped += weigh(entry);
  };

  function flush(): Promise<void> {
    const batch = pending;
    pending = new Map();
    const size = weightOf(batch);
    writing += size;
    inFlight += 1;
    inFlightKeys += batch.size;
    flushing = flushing
      .then(() => (batch.size ? write(batch) : undefined))
      .finally(() => {
        writing -= size;
        inFlight -= 1;
        inFlightKeys -= batch.size;
      })
      .catch((err: unknown) => {
        // Nothing is lost: what could not be written goes with the next flush.
        for (const [key, entry] of batch) keep(key, entry, true);
        onError(err as Error);
      });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushEveryMs);
  timer.unref();

  return {
    add(key, entry) {
      keep(key, entry);
      // Full: write now rather than at the next tick, unless a write is already on its way.
      if (pending.size >= maxEntries && inFlight === 0) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get unwritten() {
      return writing + weightOf(pending) + dropped;
    },
    get dropped() {
      return dropped;
    },
  };
}
