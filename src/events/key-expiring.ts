import type { Tx } from '../unit-of-work.js';

/**
 * `key.expiring` (issue 26 item 5): a key expires, or its rotation grace
 * ends, within `thresholdDays` days. Published once per reminder, whatever
 * the number of keyport processes, inside the transaction that marks the
 * reminder announced: a subscriber (the webhook outbox, issue 26 item 4)
 * writes its rows in `tx` and they commit with the mark, or neither does.
 */
export interface KeyExpiringEvent {
  readonly type: 'key.expiring';
  readonly clientId: string;
  readonly teamId: number;
  /** `expires`: the key itself; `grace_ends`: the previous secret kept by a rotation. */
  readonly reason: 'expires' | 'grace_ends';
  /** 30, 7 or 1 (`expires`); 1 (`grace_ends`). */
  readonly thresholdDays: number;
  /** Seconds since the epoch when the key (or the previous secret) stops working. */
  readonly expiresAt: number;
}

export type KeyExpiringSubscriber = (event: KeyExpiringEvent, tx: Tx) => Promise<void>;
