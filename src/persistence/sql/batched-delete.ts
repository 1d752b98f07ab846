import type { Knex } from 'knex';
import type { Db } from './knex.js';

export interface BatchedDelete {
  readonly table: string;
  /** The primary key's columns: each batch is read by `where`, then deleted by key. */
  readonly key: readonly string[];
  /** Picks the rows to delete (expired, idle, older than the retention). */
  readonly where: (rows: Knex.QueryBuilder) => Knex.QueryBuilder;
  readonly batchSize?: number;
}

/**
 * Deletes what `where` picks, `batchSize` rows at a time, so a large backlog
 * never holds long locks nor one long transaction: every sweep of expired or
 * idle rows goes through here. Answers how many rows were deleted.
 */
export async function deleteInBatches(db: Db, { table, key, where, batchSize = 1000 }: BatchedDelete): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = (await where(db(table))
      .limit(batchSize)
      .select(...key)) as Array<Record<string, unknown>>;
    if (!rows.length) return total;
    const picked = db(table);
    if (key.length === 1) picked.whereIn(key[0]!, rows.map((row) => row[key[0]!]) as Knex.Value[]);
    else picked.whereIn([...key], rows.map((row) => key.map((column) => row[column])) as Knex.Value[][]);
    await picked.delete();
    total += rows.length;
    if (rows.length < batchSize) return total;
  }
}
