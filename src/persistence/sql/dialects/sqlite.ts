import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Dialect } from '../dialect.js';

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
        afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
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
  rowsIn: (tuples) => `IN (VALUES ${tuples})`,
};
