import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';

export type Db = Knex;

/**
 * Opens the database named by a `mysql://…` or `sqlite:PATH` URL.
 * SQLite gets WAL and a busy timeout so several processes can share one file.
 */
export function createDb(url: string): Db {
  if (url.startsWith('mysql://')) {
    return knex({
      client: 'mysql2',
      connection: {
        uri: url,
        // Times are stored as epoch seconds; keep BIGINTs as numbers.
        supportBigNumbers: true,
        bigNumberStrings: false,
        charset: 'utf8mb4',
      } as Knex.MySql2ConnectionConfig,
      pool: { min: 0, max: 10 },
    });
  }
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return knex({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  }
  throw new Error('database URL must start with mysql:// or sqlite:');
}

export function isMysql(db: Db): boolean {
  return db.client.config.client === 'mysql2';
}

/** True when a write failed on a primary or unique key, on either database. */
export function isDuplicateKeyError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
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
  return async <T>(sql: string, values: readonly unknown[]) => {
    const connection = (await db.client.acquireConnection()) as Connection;
    try {
      return await new Promise<T[]>((resolve, reject) =>
        connection.execute(sql, values, (err, rows) => (err ? reject(err) : resolve(rows as T[]))),
      );
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
}
