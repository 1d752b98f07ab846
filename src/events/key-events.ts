import { systemClock, type Clock } from '../clock.js';
import type { Tx } from '../unit-of-work.js';
import { isClientEvent, type ClientEventSubscriber } from './domain-events.js';

/**
 * How far back each poll reads. Longer than a transaction takes to commit
 * (ids can commit out of order) and than clocks between hosts differ, so a
 * change is never skipped; changes already passed on are remembered by id.
 */
const LOOKBACK_MS = 10_000;

/** How long a change row is kept: far longer than any poll looks back. */
export const KEY_EVENT_RETENTION_MS = 3_600_000;

/** The change feed's rows (`key_events`), written by whichever process made the change. */
export interface KeyEventStore {
  /** Records, inside `tx`, that a client changed at `atMs`: guards drop what they cached about it. */
  record(clientId: string, atMs: number, tx?: Tx): Promise<void>;
  /** Changes recorded at or after `fromMs`, oldest (lowest id) first. */
  since(fromMs: number): Promise<Array<{ id: number; clientId: string }>>;
  /** Deletes changes recorded before `beforeMs`; how many. */
  deleteBefore(beforeMs: number): Promise<number>;
}

/**
 * The guards' change feed: one `key_events` row per change to a client, in
 * the change's transaction, so guards drop what they cached about it. A new
 * client is no change to anything cached.
 */
export function createKeyChangeSubscriber(store: KeyEventStore, clock: Clock = systemClock): ClientEventSubscriber {
  // One row per client per transaction, as before events: an update of name and scopes is one change to a guard.
  const written = new WeakMap<object, Set<string>>();
  return async (event, tx) => {
    // A team's or person's change records its own apps' changes (TeamService); a new client changes
    // nothing cached, nor does an opened or expired one-time link
    // (a revocation for an expired link is its own `client.revoked`).
    if (
      !isClientEvent(event) ||
      event.type === 'client.created' ||
      event.type === 'client.share-opened' ||
      event.type === 'client.share-expired' ||
      event.type === 'client.leaked'
    )
      return;
    const clients = written.get(tx) ?? new Set<string>();
    if (clients.has(event.clientId)) return;
    written.set(tx, clients.add(event.clientId));
    await store.record(event.clientId, clock.now(), tx);
  };
}

/** Deletes change rows older than an hour (the sweep). */
export function deleteOldKeyEvents(store: KeyEventStore, clock: Clock = systemClock): Promise<number> {
  return store.deleteBefore(clock.now() - KEY_EVENT_RETENTION_MS);
}

export interface KeyEventListener {
  /** The resource server listening (subscriptions are limited per caller). */
  readonly callerId: string;
  /** A client changed (revoked, rotated, new scopes or expiry, keys added or removed). */
  change(clientId: string): void;
  /** Every change committed before this moment has been passed on. */
  beat(): void;
  /** The process is stopping, or the listening resource server itself changed: end the stream. */
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
  store: KeyEventStore,
  {
    pollMs = 250,
    onError = () => undefined,
    clock = systemClock,
  }: { pollMs?: number; onError?: (err: Error) => void; clock?: Clock } = {},
): KeyEventHub {
  const listeners = new Set<KeyEventListener>();
  const passedOn = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let reading = false;

  async function poll() {
    if (reading) return;
    reading = true;
    try {
      const from = clock.now() - LOOKBACK_MS;
      for (const { id, clientId } of await store.since(from)) {
        if (passedOn.has(id)) continue;
        passedOn.set(id, clock.now());
        for (const listener of [...listeners]) {
          // The resource server itself changed (revoked, rotated): its streams end; a guard
          // reconnects with its current credentials, and a revoked one is refused.
          if (listener.callerId === clientId) {
            listeners.delete(listener);
            listener.end();
          } else listener.change(clientId);
        }
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
