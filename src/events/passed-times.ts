import type { Tx } from '../unit-of-work.js';

/**
 * A moment in a key's life that changes it without anyone acting: its
 * `expires_at` passes (the key stops working), or the grace period of a
 * rotation ends (the previous secret stops working). Guards hear of it as a
 * change, the same as a revocation.
 */
export type PassedTimeKind = 'expiry' | 'grace_end';

export interface PassedTime {
  readonly clientId: string;
  /** The key's team (null: a product-wide client). */
  readonly teamId: number | null;
  readonly kind: PassedTimeKind;
  /** The moment, in seconds since the epoch, as stored. */
  readonly atS: number;
}

/** The moments that passed, and which of them were pushed already (any process). */
export interface PassedTimeStore {
  /** Moments in (`fromS`, `toS`] not pushed yet, at most `limit`, earliest first. */
  due(fromS: number, toS: number, limit: number): Promise<PassedTime[]>;
  /**
   * Records `moment`'s change for the guards (a `key_events` row at
   * `nowMs`) unless it was pushed already: false when another process (or
   * an earlier run) pushed it first. `alsoInTx` runs in the push's
   * transaction (the `key.expired` webhook's outbox rows): both or neither.
   */
  push(moment: PassedTime, nowMs: number, alsoInTx?: (tx: Tx) => Promise<void>): Promise<boolean>;
}
