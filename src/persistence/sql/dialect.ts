import type { Knex } from 'knex';

/**
 * What differs between the SQL databases keyport runs on. Adding a database
 * is adding a file beside `sqlite.ts`, `mysql.ts` and `postgres.ts` that
 * implements this, and naming it in `dialects/index.ts`.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'mysql' | 'postgres';
  /** knex's client name for it (`mysql2`, `better-sqlite3`, `pg`). */
  readonly knexClient: string;
  /** The URL schemes this dialect opens (`mysql:` …). */
  readonly schemes: readonly string[];
  /** knex's configuration for a URL of this dialect; `timeoutMs` bounds each statement and connection wait. */
  knexConfig(url: string, options: { readonly timeoutMs: number }): Knex.Config;
  /** True when a failure means the database is out of reach (stopped, frozen, unreachable). */
  isOutOfReach(err: unknown): boolean;
  /** True when a write failed on a primary or unique key. */
  isDuplicateKey(err: unknown): boolean;
  /**
   * True when the database rolled the work back because it lost a write conflict (a deadlock,
   * a lock wait that timed out, a Galera certification failure): running it again is safe.
   */
  isConflict(err: unknown): boolean;
  /** Whether `SELECT … FOR UPDATE` locks rows (SQLite has one writer and no row locks). */
  readonly rowLocks: boolean;
  /** An identifier quoted (`key` is a keyword in MySQL). */
  quote(identifier: string): string;
  /** The rows of a `db.raw` answer (each driver shapes it its own way). */
  rawRows(result: unknown): unknown[];
  /** Whether an insert answers the new row's id only when asked with RETURNING. */
  readonly returningId: boolean;
  /**
   * Runs a constant statement with `?` marks as a statement the driver keeps
   * prepared on `connection` (one of knex's pool). Absent: through knex.
   */
  prepared?(connection: unknown, sql: string, values: readonly unknown[]): Promise<unknown[]>;
  /**
   * Ends a pooled connection at once, marked so the pool never hands it out
   * again: what a statement with no answer in time does. Present with `prepared`.
   */
  endNow?(connection: unknown): void;

  // Counting stores (plan counters, failure counters, key usage, oidc payloads).
  /** What turns an INSERT into an upsert on the conflict `keys` (followed by `column = …` assignments). */
  onConflictUpdate(keys: readonly string[]): string;
  /** What makes an INSERT leave a row already there on the conflict `keys` as it is. */
  onConflictKeep(keys: readonly string[]): string;
  /** Whether one upsert may name the same row twice (PostgreSQL refuses it). */
  readonly upsertRepeats: boolean;
  /** The value the upsert tried to insert into `column`, inside its update clause. */
  inserted(column: string): string;
  /** The larger of two values in one row (not the aggregate). */
  greatest(a: string, b: string): string;
  /** The smaller of two values in one row (not the aggregate). */
  least(a: string, b: string): string;
  /** Whether `INSERT … ON CONFLICT … RETURNING` answers the rows it wrote. */
  readonly upsertReturns: boolean;
  /**
   * `expr`, also kept in session variable `name` for `readCaptured` on the same
   * connection (MySQL: an upsert's new value read back without a transaction).
   * Absent where there are no session variables.
   */
  capture?(name: string, expr: string): string;
  /** The statement that reads session variables `names` back, one column each. */
  readCaptured?(names: readonly string[]): string;
  /**
   * Whether `UPDATE t SET … FROM (VALUES (…), …) AS v WHERE t.k = v.column1`
   * updates each row from its own tuple (SQLite, PostgreSQL; MySQL has no such form).
   */
  readonly updatesFromValues: boolean;
  /** `(a, b) IN …` over row constructors `tuples` (`(?, ?), (?, ?)`). */
  rowsIn(tuples: string): string;
}
