/** A signed-in person's dashboard session as stored: keyed by the digest of its cookie, never the cookie. */
export interface SessionRecord {
  readonly id: string;
  readonly userId: number;
  readonly teamId: number;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly lastFormNonce: string | null;
}

export interface SessionStore {
  insert(session: Omit<SessionRecord, 'lastFormNonce'>): Promise<void>;
  /** The session with exactly this id (byte for byte). */
  find(id: string): Promise<SessionRecord | undefined>;
  touch(id: string, lastSeenAt: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Deletes the person's sessions, but the one with id `except` when given; how many. */
  deleteForUser(userId: number, except?: string): Promise<number>;
  /** Deletes the sessions last seen before `before`; how many. */
  deleteSeenBefore(before: number): Promise<number>;
  /** Sets the last form nonce unless it is `nonce` already; false when it was (the same form sent twice). */
  useNonce(id: string, nonce: string): Promise<boolean>;
}
