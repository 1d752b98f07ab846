import type { SyncTokenRecord, SyncTokenStore } from '../../teams/sync-tokens.js';
import { insertId, type Db } from './knex.js';

type Row = Record<string, unknown>;

const recordOf = (row: Row): SyncTokenRecord => ({
  id: Number(row.id),
  name: String(row.name),
  digest: String(row.token_digest),
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : Number(row.revoked_at),
});

/** SyncTokenStore on sync_tokens (migration 20261203000900_sync_tokens). */
export function createSqlSyncTokenStore(db: Db): SyncTokenStore {
  const findById = async (id: number) => {
    const row = (await db('sync_tokens').where({ id }).first()) as Row | undefined;
    return row ? recordOf(row) : undefined;
  };
  return {
    async insert(t) {
      const id = await insertId(
        db,
        db('sync_tokens').insert({ name: t.name, token_digest: t.digest, created_at: t.createdAt }),
      );
      return (await findById(id))!;
    },

    async findByDigest(digest) {
      const row = (await db('sync_tokens').where({ token_digest: digest }).first()) as Row | undefined;
      return row ? recordOf(row) : undefined;
    },

    findById,

    async list() {
      return ((await db('sync_tokens').orderBy('id')) as Row[]).map(recordOf);
    },

    async revoke(id, at) {
      // Conditional: the first revocation's moment stays.
      return (await db('sync_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: at })) === 1;
    },
  };
}
