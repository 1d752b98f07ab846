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
