import type { Knex } from 'knex';
import ClientMySQL2 from 'knex/lib/dialects/mysql2/index.js';
import type { Dialect } from '../dialect.js';
import { bounded, unavailableIf } from '../unavailable.js';

/** mysql2's failures that mean the server is out of reach, not that it refused the statement. */
const OUT_OF_REACH = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
]);

const outOfReach = (err: unknown) => {
  const e = err as { code?: string; fatal?: boolean; name?: string };
  // tarn's acquire timeout (every connection busy or none can be opened) is knex's KnexTimeoutError.
  return e?.fatal === true || OUT_OF_REACH.has(e?.code ?? '') || e?.name === 'KnexTimeoutError';
};

type RawConnection = { destroy(): void; __knex__disposed?: unknown };

/**
 * knex's mysql2 client with every statement and every connection wait
 * bounded by `timeoutMs` (transactions too: knex builds their clients from
 * this class). A statement with no answer in time ends its connection, which
 * the pool then drops; a wait for a connection fails at the same bound.
 */
function boundedClient(timeoutMs: number) {
  return class BoundedMySQL2 extends ClientMySQL2 {
    /** Read by hotStatement (knex.ts), which runs prepared statements past knex. */
    readonly timeoutMs = timeoutMs;

    override _query(connection: unknown, obj: unknown) {
      const raw = connection as RawConnection;
      return bounded(super._query(connection, obj), {
        timeoutMs,
        outOfReach,
        end: () => {
          raw.__knex__disposed = new Error('statement timed out');
          raw.destroy();
        },
      });
    }

    override acquireConnection() {
      // tarn bounds the wait (acquireConnectionTimeout); its failure is an outage, not a 500.
      return Promise.resolve(super.acquireConnection()).catch((err: unknown) => {
        throw unavailableIf(err, outOfReach, timeoutMs);
      });
    }
  };
}

type MysqlConnection = {
  execute(sql: string, values: readonly unknown[], done: (err: Error | null, rows: unknown[]) => void): void;
};

export const mysql: Dialect = {
  name: 'mysql',
  knexClient: 'mysql2',
  schemes: ['mysql:'],
  knexConfig: (url, { timeoutMs }) => ({
    client: boundedClient(timeoutMs),
    acquireConnectionTimeout: timeoutMs,
    connection: {
      uri: url,
      connectTimeout: timeoutMs,
      // Times are stored as epoch seconds; keep BIGINTs as numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      charset: 'utf8mb4',
    } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 10 },
  }),
  isOutOfReach: outOfReach,
  isDuplicateKey: (err) => (err as { code?: string }).code === 'ER_DUP_ENTRY',
  rowLocks: true,
  quote: (identifier) => `\`${identifier}\``,
  // [rows, fields] (a write: [ResultSetHeader, undefined]).
  rawRows: (result) => (result as [unknown[]])[0],
  returningId: false,
  // mysql2 keeps a statement prepared per connection (the binary protocol needs no escaping).
  prepared: (connection, sql, values) =>
    new Promise((resolve, reject) =>
      (connection as MysqlConnection).execute(sql, values, (err, rows) => (err ? reject(err) : resolve(rows))),
    ),
  onConflictUpdate: () => 'ON DUPLICATE KEY UPDATE',
  // An assignment that changes nothing (INSERT IGNORE would also hide other errors).
  onConflictKeep: (keys) => `ON DUPLICATE KEY UPDATE ${keys[0]} = ${keys[0]}`,
  upsertRepeats: true,
  inserted: (column) => `VALUES(${column})`,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  // MariaDB's RETURNING does not cover ON DUPLICATE KEY UPDATE.
  upsertReturns: false,
  capture: (name, expr) => `(@${name} := ${expr})`,
  readCaptured: (names) => `SELECT ${names.map((n) => `@${n} AS ${n}`).join(', ')}`,
  // Row constructors read by the primary key.
  rowsIn: (tuples) => `IN (${tuples})`,
};
