import type { ShareLinkRecord, ShareLinkStore } from '../../shares/share-link-store.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

interface Row {
  id: string;
  client_id: string;
  team_id: number | null;
  ciphertext: string | null;
  expires_at: number | string;
  opened_at: number | string | null;
  revoke_if_unopened: number | boolean;
  created_at: number | string;
  superseded_at: number | string | null;
}

const toRecord = (row: Row): ShareLinkRecord => ({
  id: row.id,
  clientId: row.client_id,
  teamId: row.team_id === null ? null : Number(row.team_id),
  ciphertext: row.ciphertext,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  openedAt: row.opened_at === null ? null : Number(row.opened_at),
  revokeIfUnopened: Boolean(row.revoke_if_unopened),
  supersededAt: row.superseded_at === null ? null : Number(row.superseded_at),
});

/** ShareLinkStore on the share_links table. */
export function createSqlShareLinkStore(db: Db): ShareLinkStore {
  const find = async (id: string) => {
    const row = await db<Row>('share_links').where({ id }).first();
    // MySQL's PAD SPACE collations would let 'id ' find 'id'.
    return row && row.id === id ? toRecord(row) : undefined;
  };
  return {
    async insert(link) {
      await db('share_links').insert({
        id: link.id,
        client_id: link.clientId,
        team_id: link.teamId,
        ciphertext: link.ciphertext,
        created_at: link.createdAt,
        expires_at: link.expiresAt,
        revoke_if_unopened: link.revokeIfUnopened,
      });
    },

    find,

    async claim(id, now, address, tx) {
      const sql = sqlOf(db, tx);
      // The claim is one conditional UPDATE: of concurrent reveals exactly one changes the row.
      const claimed = await sql('share_links')
        .where({ id })
        .whereNull('opened_at')
        .whereNotNull('ciphertext')
        .where('expires_at', '>', now)
        .update({ opened_at: now, opened_ip: address.slice(0, 64) });
      if (claimed !== 1) return undefined;
      const row = await sql<Row>('share_links').where({ id }).first();
      await sql('share_links').where({ id }).update({ ciphertext: null });
      return row && toRecord(row);
    },

    async latest(clientIds) {
      if (!clientIds.length) return new Map();
      const rows = await db<Row>('share_links')
        .whereIn('client_id', [...clientIds])
        .orderBy('created_at', 'asc');
      return new Map(rows.map((row) => [row.client_id, toRecord(row)]));
    },

    async expiredUnsettled(now, limit) {
      const rows = await db<Row>('share_links').where('expires_at', '<=', now).whereNull('settled_at').limit(limit);
      return rows.map(toRecord);
    },

    async settle(id, now, tx) {
      // Conditional: of a sweep and a rotation (or two sweeps) racing for a link, one settles it.
      const settled = await sqlOf(
        db,
        tx,
      )('share_links')
        .where({ id })
        .whereNull('settled_at')
        .update({ settled_at: now, ciphertext: null });
      return settled === 1;
    },

    async supersede(clientId, now, tx) {
      await sqlOf(
        db,
        tx,
      )('share_links')
        .where({ client_id: clientId })
        .whereNull('settled_at')
        .whereNull('opened_at')
        .update({ settled_at: now, superseded_at: now, ciphertext: null });
    },
  };
}
