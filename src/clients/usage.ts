import { nowSeconds, type Db } from '../db/knex.js';

/**
 * Counts token grants and introspections per client in memory and writes
 * them in one batch every `flushEveryMs` (at most 5 s of lag), so a token
 * request never waits on a usage write. `close()` writes what is left, so a
 * clean shutdown loses nothing.
 */
export interface UsageRecorder {
  record(clientId: string, at?: number): void;
  /** Writes everything recorded so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createUsageRecorder(db: Db, { flushEveryMs = 1000 } = {}): UsageRecorder {
  let pending = new Map<string, { count: number; lastUsedAt: number }>();
  let flushing: Promise<void> = Promise.resolve();

  async function write(batch: Map<string, { count: number; lastUsedAt: number }>) {
    for (const [clientId, { count, lastUsedAt }] of batch) {
      // Several processes share the row: add to the count, keep the latest time.
      await db('o_auth_clients')
        .where({ client_id: clientId })
        .update({
          usage_count: db.raw('usage_count + ?', [count]),
          last_used_at: db.raw('CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END', [lastUsedAt, lastUsedAt]),
        });
    }
  }

  function flush(): Promise<void> {
    const batch = pending;
    pending = new Map();
    flushing = flushing.then(() => (batch.size ? write(batch) : undefined)).catch((err) => {
      console.error('recording key usage failed:', (err as Error).message);
    });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushEveryMs);
  timer.unref();

  return {
    record(clientId, at = nowSeconds()) {
      const entry = pending.get(clientId);
      if (entry) {
        entry.count += 1;
        entry.lastUsedAt = Math.max(entry.lastUsedAt, at);
      } else {
        pending.set(clientId, { count: 1, lastUsedAt: at });
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
