import type { Tx } from '../unit-of-work.js';

/** A one-time link as stored: the ciphertext (until revealed or settled), never anything that decrypts it. */
export interface ShareLinkRecord {
  readonly id: string;
  readonly clientId: string;
  readonly teamId: number | null;
  readonly ciphertext: string | null;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly openedAt: number | null;
  readonly revokeIfUnopened: boolean;
  /** When a new secret (or a public key) replaced the one this link holds; null: it is the current one. */
  readonly supersededAt: number | null;
}

export interface ShareLinkStore {
  insert(link: Omit<ShareLinkRecord, 'openedAt' | 'supersededAt'>): Promise<void>;
  /** The link with exactly this id (byte for byte, whatever the collation). */
  find(id: string): Promise<ShareLinkRecord | undefined>;
  /**
   * Marks a pending link opened at `now` from `address` and takes its
   * ciphertext out, atomically: of concurrent claims exactly one gets it.
   */
  claim(id: string, now: number, address: string, tx?: Tx): Promise<ShareLinkRecord | undefined>;
  /** The newest link of each of these clients. */
  latest(clientIds: readonly string[]): Promise<Map<string, ShareLinkRecord>>;
  /** Up to `limit` links expired by `now` and not settled yet. */
  expiredUnsettled(now: number, limit: number): Promise<ShareLinkRecord[]>;
  /**
   * Settled at `now`: the sweep is done with it, and its ciphertext goes.
   * False when it was settled already (superseded, or by another process).
   */
  settle(id: string, now: number, tx?: Tx): Promise<boolean>;
  /** Ends every unsettled link of the client at `now`: its ciphertext goes, its expiry revokes nothing. */
  supersede(clientId: string, now: number, tx: Tx): Promise<void>;
}
