import type { RevokedTokenStore } from '../../clients/revoked-tokens.js';
import { deleteInBatches } from './batched-delete.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

const TABLE = 'revoked_access_tokens';

/** RevokedTokenStore on revoked_access_tokens. */
export function createSqlRevokedTokenStore(db: Db): RevokedTokenStore {
  return {
    async add(jti, clientId, expiresAt, tx) {
      await sqlOf(db, tx)(TABLE).insert({ jti, client_id: clientId, expires_at: expiresAt }).onConflict('jti').ignore();
    },
    async has(jti) {
      return Boolean(await db(TABLE).where({ jti }).first('jti'));
    },
    deleteExpired: (beforeSeconds) =>
      deleteInBatches(db, {
        table: TABLE,
        key: ['jti'],
        where: (rows) => rows.where('expires_at', '<', beforeSeconds),
      }),
  };
}
