import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import type { AuditEvent, AuditStore } from '../audit/audit.js';
import { InvalidRequest, InvalidToken, NotFound } from '../errors.js';

/**
 * The product's sync tokens (issue 26 item 3): a product-wide Bearer token that
 * may call the sync routes (`…/by-external-id/…`) and nothing else. Made by the
 * operator (CLI `synctokenadd`), shown once, kept only as its SHA-256.
 */

/** The prefix secret scanners match: `keyport_sync_` then 43 base64url characters (32 random bytes). */
export const SYNC_TOKEN_PREFIX = 'keyport_sync_';
const FORMAT = new RegExp(`^${SYNC_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`);

export interface SyncTokenRecord {
  readonly id: number;
  readonly name: string;
  /** SHA-256 of the token, hex. */
  readonly digest: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface SyncTokenStore {
  insert(token: { name: string; digest: string; createdAt: number }): Promise<SyncTokenRecord>;
  findByDigest(digest: string): Promise<SyncTokenRecord | undefined>;
  findById(id: number): Promise<SyncTokenRecord | undefined>;
  list(): Promise<SyncTokenRecord[]>;
  /** Sets `revoked_at` unless set already: false when it was (or no such token). */
  revoke(id: number, at: number): Promise<boolean>;
}

/** A sync token as the operator sees it: never the token, never its hash. */
export interface SyncTokenView {
  readonly token_id: number;
  readonly name: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

/** Who made or revoked a token, for the product-wide audit log (the CLI: operator `cli`). */
export interface SyncTokenActor {
  readonly type: AuditEvent['actorType'];
  readonly id: string | null;
}

export interface SyncTokens {
  /** A new token: `token` is shown this once. Audited `sync_token.create` (team null). */
  issue(name: string, by: SyncTokenActor): Promise<{ token: string; view: SyncTokenView }>;
  list(): Promise<SyncTokenView[]>;
  /** Revokes at once (the next call with it is 401); `unchanged` when revoked already. Audited `sync_token.revoke`. */
  revoke(id: number, by: SyncTokenActor): Promise<{ view: SyncTokenView; outcome: 'revoked' | 'unchanged' }>;
  /**
   * The live sync token `value` is; undefined when `value` is not of the sync-token format
   * (another kind of Bearer token). Throws `invalid_token` for an unknown or revoked one.
   */
  authenticate(value: string): Promise<{ readonly id: number; readonly name: string } | undefined>;
}

const digestOf = (value: string) => createHash('sha256').update(value).digest();
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const viewOf = (t: SyncTokenRecord): SyncTokenView => ({
  token_id: t.id,
  name: t.name,
  created_at: iso(t.createdAt)!,
  revoked_at: iso(t.revokedAt),
});

export function createSyncTokens({
  store,
  audit,
  clock = systemClock,
}: {
  store: SyncTokenStore;
  audit: AuditStore;
  clock?: Clock;
}): SyncTokens {
  const record = (by: SyncTokenActor, action: 'sync_token.create' | 'sync_token.revoke', view: SyncTokenView) =>
    audit.record({
      teamId: null,
      actorType: by.type,
      actorId: by.id,
      action,
      clientId: null,
      status: 200,
      ip: null,
      details: { token_id: view.token_id, name: view.name },
    });
  return {
    async issue(name, by) {
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > 200) throw new InvalidRequest('name', 'must be 1 to 200 characters');
      const token = `${SYNC_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const made = await store.insert({
        name: trimmed,
        digest: digestOf(token).toString('hex'),
        createdAt: clock.now(),
      });
      const view = viewOf(made);
      await record(by, 'sync_token.create', view);
      return { token, view };
    },

    async list() {
      return (await store.list()).map(viewOf);
    },

    async revoke(id, by) {
      const revoked = Number.isSafeInteger(id) && (await store.revoke(id, clock.now()));
      const found = Number.isSafeInteger(id) ? await store.findById(id) : undefined;
      if (!found) throw new NotFound(`no sync token ${id}`);
      const view = viewOf(found);
      if (revoked) await record(by, 'sync_token.revoke', view);
      return { view, outcome: revoked ? 'revoked' : 'unchanged' };
    },

    async authenticate(value) {
      // The exact shape decides: anything else goes on to the access-token and API-key lookups
      // (an API key is `<key_prefix>_sk_…`, and a key_prefix has no underscore: never this shape).
      if (!FORMAT.test(value)) return undefined;
      const digest = digestOf(value);
      // Looked up by its hash (the token has 256 random bits: the lookup's timing tells nothing
      // useful), then compared in constant time, whatever the column's collation matched.
      const found = await store.findByDigest(digest.toString('hex'));
      if (!found || !timingSafeEqual(Buffer.from(found.digest, 'hex'), digest))
        throw new InvalidToken('the sync token is unknown');
      if (found.revokedAt !== null) throw new InvalidToken('the sync token is revoked');
      return { id: found.id, name: found.name };
    },
  };
}
