import { secondsOf, systemClock, type Clock } from '../clock.js';
import { createWriteBehind } from './write-behind.js';

/** How often and when a client was used, as a batch adds it to the stored counts. */
export interface UsageCount {
  readonly clientId: string;
  /** Uses to add to `usage_count`. */
  count: number;
  /** The latest use (epoch seconds); the stored one is kept when it is later. */
  lastUsedAt: number;
}

/** Where `usage_count` and `last_used_at` are kept (the clients table). */
export interface UsageCountStore {
  /**
   * Adds a batch, all or nothing: several processes share a row, so counts
   * add and the latest time wins. A batch added again under the same
   * `batchId` (its first try's answer was lost) adds nothing the second time.
   */
  add(batch: readonly UsageCount[], batchId: string): Promise<void>;
}

/**
 * Counts token grants and introspections per client in memory and writes
 * them in one batch every `flushEveryMs` (at most 5 s of lag), so a token
 * request never waits on a usage write. `close()` writes what is left, so a
 * clean shutdown loses nothing.
 */
export interface UsageRecorder {
  record(clientId: string, at?: number, calls?: number): void;
  /** Writes everything recorded so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Uses recorded and not yet written (waiting, in a write that has not finished, or dropped). */
  readonly unwritten: number;
  /** What was dropped because the buffer was full (the database failing for long); never written. */
  readonly dropped: number;
}

export interface UsageRecorderOptions {
  readonly flushEveryMs?: number;
  /** Told when a flush fails (it is retried with the next one). */
  readonly onError?: (err: Error) => void;
  readonly clock?: Clock;
}

export function createUsageRecorder(
  store: UsageCountStore,
  { flushEveryMs = 1000, onError, clock = systemClock }: UsageRecorderOptions = {},
): UsageRecorder {
  const buffer = createWriteBehind<UsageCount>({
    write: (batch, id) => store.add([...batch.values()], id),
    merge(into, from) {
      into.count += from.count;
      into.lastUsedAt = Math.max(into.lastUsedAt, from.lastUsedAt);
    },
    weigh: (u) => u.count,
    flushEveryMs,
    onError,
  });
  return {
    record(clientId, at = secondsOf(clock), calls = 1) {
      buffer.add(clientId, { clientId, count: calls, lastUsedAt: at });
    },
    flush: () => buffer.flush(),
    close: () => buffer.close(),
    get unwritten() {
      return buffer.unwritten;
    },
    get dropped() {
      return buffer.dropped;
    },
  };
}
