import knex, { type Knex } from 'knex';
import type { Dialect } from './dialect.js';
import { DIALECTS, dialectForUrl } from './dialects/index.js';
import { bounded } from './unavailable.js';

export type Db = Knex;

/** The default of `database_timeout_ms` (config.ts), for the CLI's and tests' own connections. */
export const DEFAULT_DATABASE_TIMEOUT_MS = 5000;

/**
 * Opens the database named by a URL of one of the dialects (`sqlite:PATH`,
 * `mysql://…`). On a database server, a statement or a wait for a connection
 * that takes longer than `timeoutMs` fails as ServiceUnavailable (a 503).
 */
export function createDb(url: string, { timeoutMs = DEFAULT_DATABASE_TIMEOUT_MS } = {}): Db {
  const dialect = dialectForUrl(url);
  if (!dialect)
    throw new Error(`unsupported database URL; supported: ${DIALECTS.flatMap((d) => d.schemes).join(', ')}`);
  // A failed query's error names the statement with `?` marks, never its values (they reach the logs).
  return knex({ ...dialect.knexConfig(url, { timeoutMs }), compileSqlOnError: false });
}

/** The dialect a database was opened with (known by its knex driver). */
export function dialectOf(db: Db): Dialect {
  const driver = (db.client as { driverName?: string }).driverName ?? db.client.config.client;
  const dialect = DIALECTS.find((d) => d.knexClient === driver);
  if (!dialect) throw new Error(`no dialect for the knex client ${String(driver)}`);
  return dialect;
}

export function isMysql(db: Db): boolean {
  return dialectOf(db).name === 'mysql';
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

type Connection = {
  execute(sql: string, values: readonly unknown[], done: (err: Error | null, rows: unknown) => void): void;
  destroy(): void;
  __knex__disposed?: unknown;
};

/**
 * Runs one of the few statements every request makes, without the query
 * builder: on MySQL as a prepared statement on a pooled connection (mysql2
 * keeps it prepared per connection; the binary protocol needs no escaping),
 * on SQLite through knex as usual. `sql` must be a constant with `?` marks:
 * values only ever travel as bindings.
 */
export function hotStatement(db: Db): <T>(sql: string, values: readonly unknown[]) => Promise<T[]> {
  if (!isMysql(db))
    return async <T>(sql: string, values: readonly unknown[]) =>
      (await db.raw(sql, values as Knex.RawBinding[])) as T[];
  const timeoutMs = (db.client as { timeoutMs?: number }).timeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS;
  const { isOutOfReach } = dialectOf(db);
  return async <T>(sql: string, values: readonly unknown[]) => {
    const connection = (await db.client.acquireConnection()) as Connection;
    try {
      const run = new Promise<T[]>((resolve, reject) =>
        connection.execute(sql, values, (err, rows) => (err ? reject(err) : resolve(rows as T[]))),
      );
      return await bounded(run, {
        timeoutMs,
        outOfReach: isOutOfReach,
        end: () => {
          connection.__knex__disposed = new Error('statement timed out');
          connection.destroy();
        },
      });
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
}
