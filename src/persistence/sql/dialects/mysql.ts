import type { Knex } from 'knex';
import ClientMySQL2 from 'knex/lib/dialects/mysql2/index.js';
import type { Dialect } from '../dialect.js';
import { retryConflicts, type ConflictCount } from '../conflict-retry.js';
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
  // 1047, from a Galera node that is not part of the primary component (joining, or cut off).
  'ER_UNKNOWN_COM_ERROR',
]);

/** 1213 (a deadlock, or a Galera certification failure) and 1205: the work was rolled back. */
const CONFLICTS = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const isConflict = (err: unknown) => CONFLICTS.has((err as { code?: string })?.code ?? '');

const outOfReach = (err: unknown) => {
  const e = err as { code?: string; fatal?: boolean; name?: string };
  // tarn's acquire timeout (every connection busy or none can be opened) is knex's KnexTimeoutError.
  return e?.fatal === true || OUT_OF_REACH.has(e?.code ?? '') || e?.name === 'KnexTimeoutError';
};

type RawConnection = { destroy(): void; __knex__disposed?: unknown; __knexTxId?: unknown };

/** Ends a mysql2 connection at once, marked so the pool drops it. */
function endNow(connection: unknown): void {
  const raw = connection as RawConnection;
  raw.__knex__disposed = new Error('statement timed out');
  raw.destroy();
}

/**
 * knex's mysql2 client with every statement and every connection wait
 * bounded by `timeoutMs` (transactions too: knex builds their clients from
 * this class). A statement with no answer in time ends its connection, which
 * the pool then drops; a wait for a connection fails at the same bound. A
 * statement outside a transaction that loses a write conflict runs again
 * (Galera certifies each one on its own); inside a transaction, the whole
 * transaction does (knex.ts).
 */
function boundedClient(timeoutMs: number) {
  return class BoundedMySQL2 extends ClientMySQL2 {
    /** Read by hotStatement (knex.ts), which runs prepared statements past knex. */
    readonly timeoutMs = timeoutMs;
    /** Read by knex.ts (transactions) and the metrics. */
    readonly conflicts: ConflictCount = { retried: 0 };

    override _query(connection: unknown, obj: unknown) {
      const raw = connection as RawConnection;
      const once = () =>
        bounded(super._query(connection, obj), {
          timeoutMs,
          outOfReach,
          end: () => endNow(raw),
        });
      return raw.__knexTxId === undefined ? retryConflicts(once, { isConflict, count: this.conflicts }) : once();
    }

    override acquireConnection() {
      // tarn bounds the wait (acquireConnectionTimeout); its failure is an outage, not a 500.
      return Promise.resolve(super.acquireConnection()).catch((err: unknown) => {
        throw unavailableIf(err, outOfReach, timeoutMs);
      });
    }
  };
}

/**
 * On a Galera node, a read first waits until the node has applied every write
 * the cluster committed before it (wsrep_sync_wait bit 1, causal reads): a team
 * or key written through one node is never answered as missing through another.
 * MySQL without wsrep does not know the variable; MariaDB ignores it with wsrep off.
 */
function causalReads(connection: unknown, done: (err: Error | null, connection: unknown) => void): void {
  (connection as MysqlConnection).query('SET SESSION wsrep_sync_wait = @@session.wsrep_sync_wait | 1', (err) =>
    done(err && (err as { code?: string }).code !== 'ER_UNKNOWN_SYSTEM_VARIABLE' ? err : null, connection),
  );
}

type MysqlConnection = {
  query(sql: string, done: (err: Error | null) => void): void;
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
    pool: { min: 0, max: 10, afterCreate: causalReads },
  }),
  isOutOfReach: outOfReach,
  endNow,
  isDuplicateKey: (err) => (err as { code?: string }).code === 'ER_DUP_ENTRY',
  isConflict,
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
  updatesFromValues: false,
  rowsIn: (tuples) => `IN (${tuples})`,
};
