import { systemClock, type Clock } from '../../clock.js';
import type { WindowCount, WindowCounterStore } from '../../limits/counter-store.js';
import { deleteInBatches } from './batched-delete.js';
import { dialectOf, hotStatement, type Db } from './knex.js';

const TABLE = 'rate_limits';
/** A counter whose window has not passed (bound to now, in ms); by the table's name, as PostgreSQL's upsert needs. */
const LIVE = `${TABLE}.expire IS NULL OR ${TABLE}.expire > ?`;

type Row = { points: number | string; expire: number | string | null };

/**
 * Window counters in `rate_limits` (key, points, expire in epoch ms; the
 * schema rate-limiter-flexible used, so counters carry over). An add is one
 * upsert that starts the window again once it has passed; where the
 * database has no RETURNING, the new count is read back on the same
 * connection from session variables, or else in the upsert's transaction.
 */
export function createSqlWindowCounters(db: Db, clock: Clock = systemClock): WindowCounterStore {
  const dialect = dialectOf(db);
  const hot = hotStatement(db);
  const assignments = (capture = (_name: string, expr: string) => expr) =>
    // Assigned in this order: MySQL reads `expire` after `points` was set, so `points` must go first.
    `points = ${capture('kp_points', `CASE WHEN ${LIVE} THEN ${TABLE}.points + ${dialect.inserted('points')} ELSE ${dialect.inserted('points')} END`)}, ` +
    `expire = ${capture('kp_expire', `CASE WHEN ${LIVE} THEN ${TABLE}.expire ELSE ${dialect.inserted('expire')} END`)}`;
  const quotedKey = dialect.quote('key');
  const insert = `INSERT INTO ${TABLE} (${quotedKey}, points, expire) VALUES (?, ?, ?) ${dialect.onConflictUpdate([quotedKey])}`;
  const count = (row: Row, now: number): WindowCount => ({
    points: Number(row.points),
    msLeft: row.expire === null ? Number.POSITIVE_INFINITY : Math.max(0, Number(row.expire) - now),
  });

  const upsert = `${insert} ${assignments()}`;
  const { capture, readCaptured } = dialect;
  const captured = capture && `${insert} ${assignments(capture)}`;
  const addReadingBack =
    captured && readCaptured
      ? async (bindings: unknown[], fresh: Row, now: number) => {
          const connection = await db.client.acquireConnection();
          try {
            const [result] = (await db.raw(captured, bindings as never[]).connection(connection)) as [
              { affectedRows: number },
            ];
            // 1: inserted, so the row is this add's own.
            if (result.affectedRows === 1) return count(fresh, now);
            const [[row]] = (await db.raw(readCaptured(['kp_points', 'kp_expire'])).connection(connection)) as [
              [{ kp_points: number; kp_expire: number | null }],
            ];
            return count({ points: row.kp_points, expire: row.kp_expire }, now);
          } finally {
            await db.client.releaseConnection(connection);
          }
        }
      : undefined;

  return {
    async get(key) {
      const now = clock.now();
      const [row] = await hot<Row>(`SELECT points, expire FROM ${TABLE} WHERE ${quotedKey} = ? AND (${LIVE})`, [
        key,
        now,
      ]);
      return row ? count(row, now) : undefined;
    },

    async add(key, points, windowMs) {
      const now = clock.now();
      const fresh = { points, expire: now + windowMs };
      const bindings = [key, points, fresh.expire, now, now];
      if (dialect.upsertReturns) {
        const [row] = dialect.rawRows(await db.raw(`${upsert} RETURNING points, expire`, bindings)) as Row[];
        return count(row!, now);
      }
      if (addReadingBack) return addReadingBack(bindings, fresh, now);
      return db.transaction(async (trx) => {
        await trx.raw(upsert, bindings);
        const row = (await trx(TABLE).where('key', key).first('points', 'expire')) as Row;
        return count(row, now);
      });
    },

    async delete(key) {
      await hot(`DELETE FROM ${TABLE} WHERE ${quotedKey} = ?`, [key]);
    },

    deleteExpired: () =>
      deleteInBatches(db, { table: TABLE, key: ['key'], where: (rows) => rows.where('expire', '<', clock.now()) }),
  };
}
