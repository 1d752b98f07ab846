import type { Knex } from 'knex';

/**
 * What differs between the SQL databases keyport runs on. Adding a database
 * is adding a file beside `sqlite.ts` and `mysql.ts` that implements this,
 * and naming its URL scheme in `dialects/index.ts`.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'mysql';
  /** knex's client name for it (`mysql2`, `better-sqlite3`). */
  readonly knexClient: string;
  /** The URL schemes this dialect opens (`mysql:` …). */
  readonly schemes: readonly string[];
  /** knex's configuration for a URL of this dialect. */
  knexConfig(url: string): Knex.Config;
  /** True when a write failed on a primary or unique key. */
  isDuplicateKey(err: unknown): boolean;
  /** Whether `SELECT … FOR UPDATE` locks rows (SQLite has one writer and no row locks). */
  readonly rowLocks: boolean;
}
