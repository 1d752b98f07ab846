import { createHmac, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';

/**
 * Remembers that a presented secret matched a stored bcrypt hash, so a
 * client presenting the same secret again skips the ~70 ms bcrypt check.
 * - The key is an HMAC under a per-process random key of (client_id, hash,
 *   secret): the secret itself is never kept, and a memory dump cannot be
 *   tested against guesses without the process key.
 * - The stored hash is part of the key, and the client row is still read on
 *   every request: a rotation (new hash), revocation or expiry fails at once.
 * - Only successes are remembered; entries expire and the map is bounded.
 */
export interface VerifiedSecrets {
  has(clientId: string, hash: string, secret: string, now?: number): boolean;
  remember(clientId: string, hash: string, secret: string, now?: number): void;
  readonly size: number;
}

export function createVerifiedSecrets({
  maxEntries = 10_000,
  ttlMs = 10 * 60_000,
  clock = systemClock,
}: { maxEntries?: number; ttlMs?: number; clock?: Clock } = {}): VerifiedSecrets {
  const processKey = randomBytes(32);
  const entries = new Map<string, number>();
  const keyOf = (clientId: string, hash: string, secret: string) =>
    createHmac('sha256', processKey)
      .update(clientId)
      .update('\0')
      .update(hash)
      .update('\0')
      .update(secret)
      .digest('base64url');

  return {
    has(clientId, hash, secret, now = clock.now()) {
      const key = keyOf(clientId, hash, secret);
      const expires = entries.get(key);
      if (expires === undefined) return false;
      if (expires <= now) {
        entries.delete(key);
        return false;
      }
      return true;
    },

    remember(clientId, hash, secret, now = clock.now()) {
      const key = keyOf(clientId, hash, secret);
      entries.delete(key);
      entries.set(key, now + ttlMs);
      // Map keeps insertion order: the first entry is the oldest.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },

    get size() {
      return entries.size;
    },
  };
}

/**
 * The same memory shared by every keyport process and host through Redis
 * (`REDIS_URL`), so a client whose secret was chosen by hand costs one bcrypt
 * check in total, not one per process. Redis holds only an HMAC of
 * (client_id, hash, secret) under a key derived from the cookie keys every
 * host shares: it cannot be tested against guesses without them. Redis
 * failing only means bcrypt runs again.
 */
export interface SharedVerifications {
  /** The first of `pairs` (hash, secret) remembered as a match, if any. */
  find(
    clientId: string,
    pairs: ReadonlyArray<readonly [string, string]>,
  ): Promise<readonly [string, string] | undefined>;
  remember(clientId: string, hash: string, secret: string): Promise<void>;
}

/**
 * Where shared verifications are kept (Redis): marks under opaque keys,
 * each for a while. Time is the store's clock.
 */
export interface VerificationMarks {
  /** The index of the first of `keys` marked and not yet expired; -1 when none is. */
  firstMarked(keys: readonly string[]): Promise<number>;
  /** Marks `key` for `ttlMs`. */
  mark(key: string, ttlMs: number): Promise<void>;
}

export function createSharedVerifications(
  marks: VerificationMarks,
  sharedSecret: () => string,
  ttlSeconds = 600,
): SharedVerifications {
  // Derived again only when the cookie keys change.
  let derived = { from: '', key: Buffer.alloc(0) };
  const keyOf = (clientId: string, hash: string, secret: string) => {
    const from = sharedSecret();
    if (derived.from !== from)
      derived = { from, key: createHmac('sha256', from).update('keyport verified secrets').digest() };
    return `${createHmac('sha256', derived.key).update(clientId).update('\0').update(hash).update('\0').update(secret).digest('base64url')}`;
  };
  return {
    async find(clientId, pairs) {
      if (!pairs.length) return undefined;
      try {
        const i = await marks.firstMarked(pairs.map(([hash, secret]) => keyOf(clientId, hash, secret)));
        return i < 0 ? undefined : pairs[i];
      } catch {
        return undefined;
      }
    },
    async remember(clientId, hash, secret) {
      try {
        await marks.mark(keyOf(clientId, hash, secret), ttlSeconds * 1000);
      } catch {
        // Only an optimisation: the next process runs bcrypt.
      }
    },
  };
}
