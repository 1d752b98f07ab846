import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Knex } from 'knex';
import type { Dialect } from '../dialect.js';

/** Compiled statements one connection keeps (the most recently used). */
export const MAX_CACHED_STATEMENTS = 500;
/** A statement longer than this (a batch of many rows, used once) is compiled and dropped. */
export const MAX_CACHED_SQL = 4096;

interface Statement {
  readonly reader: boolean;
}
interface Connection {
  pragma(sql: string): unknown;
  prepare(sql: string): Statement;
}
/** What a connection's statement cache holds and has compiled so far (read by a test). */
export interface StatementCache {
  readonly size: number;
  readonly compiled: number;
}
const caches = new WeakMap<object, StatementCache>();

/**
 * knex's better-sqlite3 client compiles every query's SQL anew (`prepare`);
 * for the few statements every request makes, compiling cost as much as
 * running them (BENCHMARKS.md, issue 27). A connection keeps its compiled
 * statements instead, by their SQL (values are bindings, never in the SQL),
 * the most recently used first. knex runs a statement to its end at once
 * (`all`, `run`), so one is never in use twice; SQLite compiles a kept
 * statement again by itself when a migration changed its tables.
 */
function keepStatements(conn: Connection): void {
  const kept = new Map<string, Statement>();
  const prepare = conn.prepare.bind(conn);
  const stats = {
    compiled: 0,
    get size() {
      return kept.size;
    },
  };
  caches.set(conn, stats);
  conn.prepare = (sql: string) => {
    const found = kept.get(sql);
    if (found) {
      kept.delete(sql);
      kept.set(sql, found);
      return found;
    }
    stats.compiled += 1;
    const statement = prepare(sql);
    if (sql.length <= MAX_CACHED_SQL) {
      if (kept.size >= MAX_CACHED_STATEMENTS) kept.delete(kept.keys().next().value as string);
      kept.set(sql, statement);
    }
    return statement;
  };
}

/** The statement cache of `db`'s one SQLite connection. */
export async function statementCacheOf(db: Knex): Promise<StatementCache> {
  const conn = (await db.client.acquireConnection()) as object;
  try {
    const cache = caches.get(conn);
    if (!cache) throw new Error('not a SQLite connection of keyport');
    return cache;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** SQLite gets WAL and a busy timeout so several processes can share one file. */
export const sqlite: Dialect = {
  name: 'sqlite',
  knexClient: 'better-sqlite3',
  schemes: ['sqlite:'],
  knexConfig: (url) => {
    const filename = url.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: Connection, done: (err: Error | null, conn: unknown) => void) {
          keepStatements(conn);
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    };
  },
  // One file on a local disk: a busy database waits (busy_timeout), it is never out of reach.
  isOutOfReach: () => false,
  isDuplicateKey: (err) => {
    const code = (err as { code?: string }).code;
    return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
  },
  // One writer, which waits out the busy timeout: no conflict to lose.
  isConflict: () => false,
  rowLocks: false,
  // SQLite also reads MySQL's backticks; double quotes are its own.
  quote: (identifier) => `"${identifier}"`,
  // better-sqlite3 through knex answers the rows themselves.
  rawRows: (result) => result as unknown[],
  returningId: false,
  onConflictUpdate: (keys) => `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET`,
  onConflictKeep: (keys) => `ON CONFLICT (${keys.join(', ')}) DO NOTHING`,
  upsertRepeats: true,
  inserted: (column) => `excluded.${column}`,
  greatest: (a, b) => `MAX(${a}, ${b})`,
  least: (a, b) => `MIN(${a}, ${b})`,
  upsertReturns: true,
  // SQLite compares row values against a VALUES list.
  updatesFromValues: true,
  rowsIn: (tuples) => `IN (VALUES ${tuples})`,
};
