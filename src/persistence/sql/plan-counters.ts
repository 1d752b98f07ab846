import type { PlanCounterStore, CountRequest } from '../../limits/plan-counter-store.js';
import { groupByClient, placesIn } from '../../limits/plan-counter-store.js';
import { createBatcher } from '../../batch.js';
import { deleteInBatches } from './batched-delete.js';
import { dialectOf, type Db } from './knex.js';

const TABLE = 'plan_counters';
const WINDOWS = [0, 1, 2];

type CountRow = { client_id: string; n0: number; n1: number; n2: number };

/**
 * Plan counters in `plan_counters`, one row per client holding its three
 * windows: every batch of concurrent requests (src/batch.ts) is one
 * upsert. A request that arrives with an older window start than the row's
 * (a straggler at a boundary) is counted in the newer window.
 */
export function createSqlPlanCounters(db: Db): PlanCounterStore {
  const dialect = dialectOf(db);
  const assignment = (i: number, capture?: (name: string, expr: string) => string) => {
    // The stored row's columns by the table's name (PostgreSQL: unqualified is ambiguous with `excluded`).
    const [s, n] = [`${TABLE}.s${i}`, `${TABLE}.n${i}`];
    const fresh = `CASE WHEN ${dialect.inserted(`s${i}`)} > ${s} THEN ${dialect.inserted(`n${i}`)} ELSE ${n} + ${dialect.inserted(`n${i}`)} END`;
    return `n${i} = ${capture ? capture(`kp_n${i}`, fresh) : fresh}, s${i} = ${dialect.greatest(s, dialect.inserted(`s${i}`))}`;
  };
  const upsert = `${dialect.onConflictUpdate(['client_id'])} ${WINDOWS.map((i) => assignment(i)).join(', ')}`;
  const insertInto = (rows: number) =>
    `INSERT INTO ${TABLE} (client_id, s0, n0, s1, n1, s2, n2) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`;

  // One client (the hot case: one busy key), where the database has session
  // variables: the upsert keeps the new counts in them as it writes them, and
  // the same connection reads them back. Exact like a transaction, with no
  // lock held between the two statements.
  const { capture, readCaptured } = dialect;
  const captured =
    capture &&
    `${insertInto(1)} ${dialect.onConflictUpdate(['client_id'])} ${WINDOWS.map((i) => assignment(i, capture)).join(', ')}`;
  const countOne =
    captured && readCaptured
      ? async (clientId: string, bindings: ReadonlyArray<string | number>): Promise<CountRow> => {
          const connection = await db.client.acquireConnection();
          try {
            const [result] = (await db.raw(captured, [...bindings]).connection(connection)) as [
              { affectedRows: number },
            ];
            // 1: inserted, so the counts are this batch's own.
            if (result.affectedRows === 1)
              return { client_id: clientId, n0: Number(bindings[2]), n1: Number(bindings[4]), n2: Number(bindings[6]) };
            const [[values]] = (await db.raw(readCaptured(WINDOWS.map((i) => `kp_n${i}`))).connection(connection)) as [
              [{ kp_n0: number; kp_n1: number; kp_n2: number }],
            ];
            return { client_id: clientId, n0: values.kp_n0, n1: values.kp_n1, n2: values.kp_n2 };
          } finally {
            await db.client.releaseConnection(connection);
          }
        }
      : undefined;

  const countBatch = async (requests: readonly CountRequest[]) => {
    const groups = groupByClient(requests);
    // One order for every batch, so two batches lock shared rows in the same order (no deadlock).
    const ids = [...groups.keys()].sort();
    const bindings = ids.flatMap((id) => {
      const { starts, k } = groups.get(id)!;
      return [id, starts[0]!, k, starts[1]!, k, starts[2]!, k];
    });
    const insert = `${insertInto(ids.length)} ${upsert}`;
    let rows: CountRow[];
    if (dialect.upsertReturns) {
      rows = dialect.rawRows(await db.raw(`${insert} RETURNING client_id, n0, n1, n2`, bindings)) as CountRow[];
    } else if (countOne && ids.length === 1) {
      rows = [await countOne(ids[0]!, bindings)];
    } else {
      // Without RETURNING the rows are read back in the same transaction,
      // while the upsert's row locks keep any other batch's increment out
      // until commit: the count read is exactly this batch's last place.
      rows = await db.transaction(async (trx) => {
        await trx.raw(insert, bindings);
        return trx(TABLE).whereIn('client_id', ids).select<CountRow[]>('client_id', 'n0', 'n1', 'n2');
      });
    }
    return placesIn(
      requests,
      groups,
      new Map(rows.map((row) => [row.client_id, [Number(row.n0), Number(row.n1), Number(row.n2)]])),
    );
  };

  const count = createBatcher(countBatch, 100);
  return {
    count: (clientId, starts, cost) => count({ clientId, starts, cost }),
    async read(clientId, starts) {
      const row = (await db(TABLE).where({ client_id: clientId }).first()) as
        Record<string, number | string | undefined> | undefined;
      // A stored window older than the current one has ended: nothing counted in this one yet.
      return WINDOWS.map((i) => (row && Number(row[`s${i}`]) >= starts[i]! ? Number(row[`n${i}`]) : 0));
    },
    deleteIdle: (before) =>
      deleteInBatches(db, { table: TABLE, key: ['client_id'], where: (rows) => rows.where('s2', '<', before) }),
  };
}
