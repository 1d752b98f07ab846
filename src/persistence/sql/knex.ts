import knex, { type Knex } from 'knex';
import type { Dialect } from './dialect.js';
import { DIALECTS, dialectForUrl } from './dialects/index.js';

export type Db = Knex;

/** Opens the database named by a URL of one of the dialects (`sqlite:PATH`, `mysql://…`, `postgres://…`). */
export function createDb(url: string): Db {
  const dialect = dialectForUrl(url);
  if (!dialect)
    throw new Error(`unsupported database URL; supported: ${DIALECTS.flatMap((d) => d.schemes).join(', ')}`);
  // A failed query's error names the statement with `?` marks, never its values (they reach the logs).
  return knex({ ...dialect.knexConfig(url), compileSqlOnError: false });
}

/** The dialect a database was opened with (known by its knex client). */
export function dialectOf(db: Db): Dialect {
  const dialect = DIALECTS.find((d) => d.knexClient === db.client.config.client);
  if (!dialect) throw new Error(`no dialect for the knex client ${String(db.client.config.client)}`);
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
  const { prepared } = dialect;
  if (!prepared)
    return async <T>(sql: string, values: readonly unknown[]) =>
      dialect.rawRows(await db.raw(sql, values as Knex.RawBinding[])) as T[];
  return async <T>(sql: string, values: readonly unknown[]) => {
    const connection: unknown = await db.client.acquireConnection();
    try {
      return (await prepared(connection, sql, values)) as T[];
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
