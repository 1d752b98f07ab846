import type { Knex } from 'knex';
import type { Db } from '../persistence/sql/knex.js';
import type { ClientEventSubscriber } from './domain-events.js';

const TABLE = 'key_events';
/**
 * How far back each poll reads. Longer than a transaction takes to commit
 * (ids can commit out of order) and than clocks between hosts differ, so a
 * change is never skipped; changes already passed on are remembered by id.
 */
const LOOKBACK_MS = 10_000;

/**
 * The guards' change feed: one `key_events` row per change to a client, in
 * the change's transaction, so guards drop what they cached about it. A new
 * client is no change to anything cached.
 */
export function createKeyChangeSubscriber(): ClientEventSubscriber {
  // One row per client per transaction, as before events: an update of name and scopes is one change to a guard.
  const written = new WeakMap<object, Set<string>>();
  return async (event, tx) => {
    if (event.type === 'client.created') return;
    const clients = written.get(tx) ?? new Set<string>();
    if (clients.has(event.clientId)) return;
    written.set(tx, clients.add(event.clientId));
    await (tx as unknown as Knex.Transaction)(TABLE).insert({ client_id: event.clientId, created_at_ms: Date.now() });
  };
}

/** Deletes change rows older than an hour (the sweep). */
export async function deleteOldKeyEvents(db: Db): Promise<number> {
  return db(TABLE)
    .where('created_at_ms', '<', Date.now() - 3_600_000)
    .delete();
}

export interface KeyEventListener {
  /** The resource server listening (subscriptions are limited per caller). */
  readonly callerId: string;
  /** A client changed (revoked, rotated, new scopes or expiry, keys added or removed). */
  change(clientId: string): void;
  /** Every change committed before this moment has been passed on. */
  beat(): void;
  /** The process is stopping: end the stream. */
  end(): void;
}

export interface KeyEventHub {
  /** Starts passing changes to `listener`; the answer stops it. */
  subscribe(listener: KeyEventListener): () => void;
  /** How many subscriptions `callerId` holds in this process. */
  held(callerId: string): number;
  /** Ends every subscription, and any made later at once (shutdown: streams must not hold the server open). */
  close(): void;
}

/**
 * Passes client changes to the guards connected to this process: while
 * anyone listens, the recent rows of `key_events` are read every `pollMs`
 * (written by whichever process or host made the change), each new one is
 * passed on, then a beat says "nothing else changed until now". A guard that
 * hears no beat for a second stops trusting its cache, so a stalled process
 * or database can never keep a revoked key alive longer than that.
 */
export function createKeyEventHub(
  db: Db,
  { pollMs = 250, onError = () => undefined }: { pollMs?: number; onError?: (err: Error) => void } = {},
): KeyEventHub {
  const listeners = new Set<KeyEventListener>();
  const passedOn = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let reading = false;

  async function poll() {
    if (reading) return;
    reading = true;
    try {
      const from = Date.now() - LOOKBACK_MS;
      const rows = (await db(TABLE)
        .where('created_at_ms', '>=', from)
        .orderBy('id')
        .select('id', 'client_id')) as Array<{ id: number; client_id: string }>;
      for (const { id, client_id: clientId } of rows) {
        if (passedOn.has(id)) continue;
        passedOn.set(id, Date.now());
        for (const listener of listeners) listener.change(clientId);
      }
      for (const [id, at] of passedOn) if (at < from - LOOKBACK_MS) passedOn.delete(id);
      for (const listener of listeners) listener.beat();
    } catch (err) {
      onError(err as Error);
    } finally {
      reading = false;
    }
  }

  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };

  let closed = false;

  return {
    subscribe(listener) {
      if (closed) {
        listener.end();
        return () => undefined;
      }
      listeners.add(listener);
      if (!timer) {
        timer = setInterval(() => void poll(), pollMs);
        timer.unref();
      }
      void poll();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    held(callerId) {
      let n = 0;
      for (const listener of listeners) if (listener.callerId === callerId) n += 1;
      return n;
    },
    close() {
      closed = true;
      stop();
      const ending = [...listeners];
      listeners.clear();
      for (const listener of ending) listener.end();
    },
  };
}
