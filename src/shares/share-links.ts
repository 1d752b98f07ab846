import { createCipheriv, randomBytes } from 'node:crypto';
import type { Db } from '../persistence/sql/knex.js';
import { InvalidRequest } from '../errors.js';

/** docs/contract.md: a link lives 24 hours unless asked otherwise, at most 7 days. */
export const DEFAULT_SHARE_TTL_SECONDS = 86_400;
export const MAX_SHARE_TTL_SECONDS = 7 * 86_400;
const MIN_SHARE_TTL_SECONDS = 60;

export type ShareState = 'pending' | 'opened' | 'expired';

export interface ShareOptions {
  readonly ttlSeconds?: number;
  /** Revoke the key if its link expires unopened: nobody holds an undelivered key. */
  readonly revokeIfUnopened?: boolean;
}

export interface ShareView {
  readonly state: ShareState;
  readonly expires_at: string;
  readonly opened_at: string | null;
  readonly revoke_if_unopened: boolean;
}

export interface ShareLinks {
  /** Encrypts `secret` under a fresh key that only the returned URL's fragment holds. */
  create(
    input: { clientId: string; teamId: number | null; secret: string } & ShareOptions,
  ): Promise<{ url: string; view: ShareView }>;
  /** Whether the link can still be revealed (a GET of its page never burns it). */
  isPending(id: string): Promise<boolean>;
  /** Takes the ciphertext once, atomically: later or concurrent calls get undefined. */
  reveal(
    id: string,
    address: string,
  ): Promise<{ ciphertext: string; clientId: string; teamId: number | null } | undefined>;
  /** The newest link of each client, for lists (CLI clientlist, admin API). */
  latest(clientIds: readonly string[]): Promise<Map<string, ShareView>>;
  /** Links that expired unopened and are not settled yet: the sweep revokes keys where asked. */
  expiredUnsettled(
    now: number,
  ): Promise<Array<{ id: string; clientId: string; teamId: number | null; revokeIfUnopened: boolean }>>;
  settle(id: string, now: number): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{22}$/;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (s: number | string | null) => (s === null ? null : new Date(Number(s) * 1000).toISOString());

interface Row {
  id: string;
  client_id: string;
  team_id: number | null;
  ciphertext: string | null;
  expires_at: number | string;
  opened_at: number | string | null;
  revoke_if_unopened: number | boolean;
  created_at: number | string;
}

function viewOf(row: Row, now: number): ShareView {
  const opened = row.opened_at !== null;
  return {
    state: opened ? 'opened' : Number(row.expires_at) <= now ? 'expired' : 'pending',
    expires_at: iso(row.expires_at)!,
    opened_at: iso(row.opened_at),
    revoke_if_unopened: Boolean(row.revoke_if_unopened),
  };
}

export function checkShareTtl(ttlSeconds: number | undefined): number {
  const ttl = ttlSeconds ?? DEFAULT_SHARE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_SHARE_TTL_SECONDS || ttl > MAX_SHARE_TTL_SECONDS) {
    throw new InvalidRequest(
      'share.ttl_seconds',
      `must be a whole number of seconds from ${MIN_SHARE_TTL_SECONDS} to ${MAX_SHARE_TTL_SECONDS} (7 days)`,
    );
  }
  return ttl;
}

/**
 * One-time secret links, zero knowledge: the secret is encrypted with
 * AES-256-GCM under a random key that goes only into the URL's fragment
 * (`/s/<id>#<key>`), which browsers never send to a server. keyport keeps the
 * ciphertext and the expiry, nothing that decrypts them, and hands the
 * ciphertext out once.
 */
export function createShareLinks(db: Db, issuer: string): ShareLinks {
  return {
    async create({ clientId, teamId, secret, ttlSeconds, revokeIfUnopened = false }) {
      const ttl = checkShareTtl(ttlSeconds);
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      const id = randomBytes(16).toString('base64url');
      const now = nowSeconds();
      const row = {
        id,
        client_id: clientId,
        team_id: teamId,
        ciphertext: sealed.toString('base64url'),
        created_at: now,
        expires_at: now + ttl,
        revoke_if_unopened: revokeIfUnopened,
      };
      await db('share_links').insert(row);
      return { url: `${issuer}/s/${id}#${key.toString('base64url')}`, view: viewOf({ ...row, opened_at: null }, now) };
    },

    async isPending(id) {
      if (!ID.test(id)) return false;
      const row = await db<Row>('share_links').where({ id }).first();
      return Boolean(
        row &&
        row.id === id &&
        row.opened_at === null &&
        row.ciphertext !== null &&
        Number(row.expires_at) > nowSeconds(),
      );
    },

    async reveal(id, address) {
      if (!ID.test(id)) return undefined;
      const now = nowSeconds();
      // The claim is one conditional UPDATE: of concurrent reveals exactly one changes the row.
      const claimed = await db('share_links')
        .where({ id })
        .whereNull('opened_at')
        .whereNotNull('ciphertext')
        .where('expires_at', '>', now)
        .update({ opened_at: now, opened_ip: address.slice(0, 64) });
      if (claimed !== 1) return undefined;
      const row = await db<Row>('share_links').where({ id }).first();
      await db('share_links').where({ id }).update({ ciphertext: null });
      if (!row?.ciphertext || row.id !== id) return undefined;
      return { ciphertext: row.ciphertext, clientId: row.client_id, teamId: row.team_id };
    },

    async latest(clientIds) {
      if (!clientIds.length) return new Map();
      const rows = await db<Row>('share_links')
        .whereIn('client_id', [...clientIds])
        .orderBy('created_at', 'asc');
      const now = nowSeconds();
      return new Map(rows.map((row) => [row.client_id, viewOf(row, now)]));
    },

    async expiredUnsettled(now) {
      const rows = await db<Row>('share_links').where('expires_at', '<=', now).whereNull('settled_at').limit(500);
      return rows.map((r) => ({
        id: r.id,
        clientId: r.client_id,
        teamId: r.team_id,
        revokeIfUnopened: Boolean(r.revoke_if_unopened) && r.opened_at === null,
      }));
    },

    async settle(id, now) {
      // Nothing that could decrypt was ever here; the ciphertext goes too.
      await db('share_links').where({ id }).update({ settled_at: now, ciphertext: null });
    },
  };
}
