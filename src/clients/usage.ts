import { nowSeconds, type Db } from '../persistence/sql/knex.js';

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
  /** Uses recorded and not yet written (waiting, or in a write that has not finished). */
  readonly unwritten: number;
}

export interface UsageRecorderOptions {
  readonly flushEveryMs?: number;
  /** Told when a flush fails (it is retried with the next one). */
  readonly onError?: (err: Error) => void;
}

export function createUsageRecorder(
  db: Db,
  { flushEveryMs = 1000, onError = () => undefined }: UsageRecorderOptions = {},
): UsageRecorder {
  let pending = new Map<string, { count: number; lastUsedAt: number }>();
  let flushing: Promise<void> = Promise.resolve();
  let writing = 0;
  const total = (batch: Map<string, { count: number }>) => [...batch.values()].reduce((sum, u) => sum + u.count, 0);

  /**
   * One UPDATE per 300 clients, all in one transaction (a failed flush is
   * retried whole, so it must have written nothing). Several processes share
   * a row: add to the count, keep the latest time.
   */
  async function write(batch: Map<string, { count: number; lastUsedAt: number }>) {
    const entries = [...batch];
    await db.transaction(async (trx) => {
      for (let i = 0; i < entries.length; i += 300) {
        const part = entries.slice(i, i + 300);
        const count = part.map(() => 'WHEN ? THEN ?').join(' ');
        const latest = part
          .map(() => 'WHEN ? THEN (CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END)')
          .join(' ');
        await trx.raw(
          `UPDATE o_auth_clients SET usage_count = usage_count + (CASE client_id ${count} ELSE 0 END), last_used_at = (CASE client_id ${latest} ELSE last_used_at END) WHERE client_id IN (${part.map(() => '?').join(', ')})`,
          [
            ...part.flatMap(([id, u]) => [id, u.count]),
            ...part.flatMap(([id, u]) => [id, u.lastUsedAt, u.lastUsedAt]),
            ...part.map(([id]) => id),
          ],
        );
      }
    });
  }

  function flush(): Promise<void> {
    const batch = pending;
    pending = new Map();
    const size = total(batch);
    writing += size;
    flushing = flushing
      .then(() => (batch.size ? write(batch) : undefined))
      .finally(() => (writing -= size))
      .catch((err) => {
        // Nothing is lost: what could not be written is added back and tried with the next flush.
        for (const [clientId, { count, lastUsedAt }] of batch) {
          const entry = pending.get(clientId);
          if (entry) {
            entry.count += count;
            entry.lastUsedAt = Math.max(entry.lastUsedAt, lastUsedAt);
          } else pending.set(clientId, { count, lastUsedAt });
        }
        onError(err as Error);
      });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushEveryMs);
  timer.unref();

  return {
    record(clientId, at = nowSeconds(), calls = 1) {
      const entry = pending.get(clientId);
      if (entry) {
        entry.count += calls;
        entry.lastUsedAt = Math.max(entry.lastUsedAt, at);
      } else {
        pending.set(clientId, { count: calls, lastUsedAt: at });
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get unwritten() {
      return writing + total(pending);
    },
  };
}
