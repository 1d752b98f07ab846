import type { KeyEventStore } from '../../events/key-events.js';
import { deleteInBatches } from './batched-delete.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

const TABLE = 'key_events';

/** KeyEventStore on the key_events table (ids in commit-independent insertion order). */
export function createSqlKeyEventStore(db: Db): KeyEventStore {
  return {
    async record(clientId, atMs, tx) {
      await sqlOf(db, tx)(TABLE).insert({ client_id: clientId, created_at_ms: atMs });
    },

    async since(fromMs) {
      const rows = (await db(TABLE)
        .where('created_at_ms', '>=', fromMs)
        .orderBy('id')
        .select('id', 'client_id')) as Array<{ id: number | string; client_id: string }>;
      return rows.map((row) => ({ id: Number(row.id), clientId: row.client_id }));
    },

    deleteBefore: (beforeMs) =>
      deleteInBatches(db, { table: TABLE, key: ['id'], where: (rows) => rows.where('created_at_ms', '<', beforeMs) }),
  };
}
