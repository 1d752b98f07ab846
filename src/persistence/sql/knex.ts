import knex, { type Knex } from 'knex';
import type { Dialect } from './dialect.js';
import { DIALECTS, dialectForUrl } from './dialects/index.js';
import { retryConflicts, type ConflictCount } from './conflict-retry.js';
import { bounded } from './unavailable.js';

export type Db = Knex;

/** The default of `database_timeout_ms` (config.ts), for the CLI's and tests' own connections. */
export const DEFAULT_DATABASE_TIMEOUT_MS = 5000;

/**
 * Opens the database named by a URL of one of the dialects (`sqlite:PATH`,
 * `mysql://…`, `postgres://…`). On a database server, a statement or a wait for a connection
 * that takes longer than `timeoutMs` fails as ServiceUnavailable (a 503). A transaction
 * that loses a write conflict (the dialect's `isConflict`) is run again, whole.
 */
export function createDb(url: string, { timeoutMs = DEFAULT_DATABASE_TIMEOUT_MS } = {}): Db {
  const dialect = dialectForUrl(url);
  if (!dialect)
    throw new Error(`unsupported database URL; supported: ${DIALECTS.flatMap((d) => d.schemes).join(', ')}`);
  // A failed query's error names the statement with `?` marks, never its values (they reach the logs).
  return retryingTransactions(knex({ ...dialect.knexConfig(url, { timeoutMs }), compileSqlOnError: false }), dialect);
}

/**
 * Galera certifies a transaction at commit and aborts the loser of a conflict
 * (error 1213), whatever it locked on its own node: every `db.transaction(work)`
 * runs `work` again from the start until it commits (conflict-retry.ts). A
 * nested transaction (a savepoint) is retried with its outer one.
 */
function retryingTransactions(db: Db, dialect: Dialect): Db {
  const count = conflictCount(db);
  const transaction = db.transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
  Object.defineProperty(db, 'transaction', {
    configurable: true,
    value: (work: unknown, config?: unknown) =>
      typeof work === 'function' && !paused.has(db)
        ? retryConflicts(() => transaction(work, config), { isConflict: dialect.isConflict, count })
        : transaction(work, config),
  });
  return db;
}

const paused = new WeakSet<Db>();

/** Runs `work` with `db`'s transactions run once each, as knex runs them (the migrations). */
export async function withoutTransactionRetry<T>(db: Db, work: () => Promise<T>): Promise<T> {
  paused.add(db);
  try {
    return await work();
  } finally {
    paused.delete(db);
  }
}

/** The conflicts a database handle has retried so far, its transactions' and its statements'. */
function conflictCount(db: Db): ConflictCount {
  const client = db.client as { conflicts?: ConflictCount };
  client.conflicts ??= { retried: 0 };
  return client.conflicts;
}

/** How many write conflicts `db` has retried (keyport_database_conflicts_retried_total). */
export function conflictsRetried(db: Db): number {
  return conflictCount(db).retried;
}

/** The dialect a database was opened with (known by its knex driver). */
export function dialectOf(db: Db): Dialect {
  const driver = (db.client as { driverName?: string }).driverName ?? db.client.config.client;
  const dialect = DIALECTS.find((d) => d.knexClient === driver);
  if (!dialect) throw new Error(`no dialect for the knex client ${String(driver)}`);
  return dialect;
}

/** True when a write failed on a primary or unique key, on any database. */
export function isDuplicateKeyError(err: unknown): boolean {
  return DIALECTS.some((d) => d.isDuplicateKey(err));
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** IN lists are padded to one of these lengths, so a hot statement has few shapes to prepare. */
const SHAPES = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** `?, ?, …` for `values`, padded by repeating the last one to a fixed length; the padded values. */
export function inList<T>(values: readonly T[]): { marks: string; values: T[] } {
  const length = SHAPES.find((n) => n >= values.length) ?? values.length;
  const padded = [...values];
  while (padded.length < length) padded.push(values[values.length - 1]!);
  return { marks: padded.map(() => '?').join(', '), values: padded };
}

/**
 * Runs one of the few statements every request makes, without the query
 * builder: where the driver keeps prepared statements (mysql2, pg) as one on
 * a pooled connection, elsewhere through knex as usual. `sql` must be a
 * constant with `?` marks: values only ever travel as bindings.
 */
export function hotStatement(db: Db): <T>(sql: string, values: readonly unknown[]) => Promise<T[]> {
  const dialect = dialectOf(db);
  const { prepared, endNow } = dialect;
  if (!prepared || !endNow)
    return async <T>(sql: string, values: readonly unknown[]) =>
      dialect.rawRows(await db.raw(sql, values as Knex.RawBinding[])) as T[];
  const timeoutMs = (db.client as { timeoutMs?: number }).timeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS;
  const { isOutOfReach, isConflict } = dialect;
  const count = conflictCount(db);
  return async <T>(sql: string, values: readonly unknown[]) => {
    const connection: unknown = await db.client.acquireConnection();
    const once = () =>
      bounded(prepared(connection, sql, values), {
        timeoutMs,
        outOfReach: isOutOfReach,
        end: () => endNow(connection),
      });
    try {
      // A statement of its own: on a conflict it was rolled back, and runs again.
      return (await retryConflicts(once, { isConflict, count })) as T[];
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
}

/** Inserts one row and answers its new auto-increment `id`, on every dialect. */
export async function insertId(db: Db, query: Knex.QueryBuilder): Promise<number> {
  if (!dialectOf(db).returningId) return Number(((await query) as unknown as [number])[0]);
  const [row] = (await query.returning('id')) as Array<{ id: number | string }>;
  return Number(row!.id);
}
