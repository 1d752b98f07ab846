import { createHash } from 'node:crypto';
import pg from 'pg';
import ClientPG from 'knex/lib/dialects/postgres/index.js';
import type { Dialect } from '../dialect.js';
import { bounded, unavailableIf } from '../unavailable.js';

/** PostgreSQL's OID of BIGINT (COUNT(*) answers one too). */
const INT8 = 20;

/**
 * Times are epoch seconds or milliseconds in BIGINT columns, well inside
 * 2^53: read them as numbers, as mysql2 and better-sqlite3 do (pg answers
 * strings by default). Per connection, not pg's global parser table.
 */
const types = {
  getTypeParser: (oid: number, format: string): unknown =>
    oid === INT8 && format === 'text'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format === 'binary' ? 'binary' : 'text'),
};

/** `?` marks as PostgreSQL's `$1, $2, …` (keyport's hot statements hold no `?` in a literal). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** pg's failures that mean the server is out of reach (class 08, shutdown, timeouts), not a refused statement. */
const OUT_OF_REACH = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P03']);
const outOfReach = (err: unknown) => {
  const e = err as { code?: string; name?: string; message?: string };
  return (
    OUT_OF_REACH.has(e?.code ?? '') ||
    (e?.code ?? '').startsWith('08') ||
    e?.name === 'KnexTimeoutError' ||
    /^(Connection terminated|Query read timeout|timeout expired|Client was closed and is not queryable)/.test(
      e?.message ?? '',
    )
  );
};

type PgConnection = { query(config: pg.QueryConfig): Promise<pg.QueryResult> };
type RawConnection = { __knex__disposed?: unknown; connection?: { stream?: { destroy(): void } }; end(): unknown };

/**
 * Ends a pg connection at once: its socket is destroyed, so a statement
 * waiting on a stalled path fails now and the pool never hands it out again
 * (pg's own `end()` would first send a goodbye down the same stalled path).
 */
function endNow(connection: unknown): void {
  const raw = connection as RawConnection;
  raw.__knex__disposed = new Error('statement timed out');
  if (raw.connection?.stream) raw.connection.stream.destroy();
  else void raw.end();
}

/**
 * knex's pg client with every statement and every connection wait bounded
 * by `timeoutMs`, as mysql.ts does for MySQL: a statement with no answer in
 * time ends its connection and fails as ServiceUnavailable (a 503 with
 * Retry-After), never as the driver's bare error (a 500).
 */
function boundedClient(timeoutMs: number) {
  return class BoundedPG extends ClientPG {
    /** Read by hotStatement (knex.ts), which runs prepared statements past knex. */
    readonly timeoutMs = timeoutMs;

    override _query(connection: unknown, obj: unknown) {
      return bounded(super._query(connection, obj), { timeoutMs, outOfReach, end: () => endNow(connection) });
    }

    override acquireConnection() {
      return Promise.resolve(super.acquireConnection()).catch((err: unknown) => {
        throw unavailableIf(err, outOfReach, timeoutMs);
      });
    }
  };
}

export const postgres: Dialect = {
  name: 'postgres',
  knexClient: 'pg',
  schemes: ['postgres:', 'postgresql:'],
  // Every statement, connect and wait for a pooled connection bounded by `timeoutMs` (a 503 past it).
  knexConfig: (url, { timeoutMs }) => ({
    client: boundedClient(timeoutMs),
    acquireConnectionTimeout: timeoutMs,
    connection: { connectionString: url, types, connectionTimeoutMillis: timeoutMs },
    pool: { min: 0, max: 10 },
  }),
  isOutOfReach: outOfReach,
  endNow,
  // 23505: unique_violation (primary keys included).
  isDuplicateKey: (err) => (err as { code?: string }).code === '23505',
  // serialization_failure, deadlock_detected.
  isConflict: (err) => ['40001', '40P01'].includes((err as { code?: string }).code ?? ''),
  rowLocks: true,
  onConflictUpdate: (keys) => `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET`,
  onConflictKeep: (keys) => `ON CONFLICT (${keys.join(', ')}) DO NOTHING`,
  inserted: (column) => `excluded.${column}`,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  upsertReturns: true,
  // "ON CONFLICT DO UPDATE command cannot affect row a second time".
  upsertRepeats: false,
  returningId: true,
  updatesFromValues: true,
  rowsIn: (tuples) => `IN (${tuples})`,
  quote: (identifier) => `"${identifier}"`,
  rawRows: (result) => (result as { rows: unknown[] }).rows,
  // A named statement is parsed once per connection, then only bound and run.
  prepared: async (connection, sql, values) => {
    const name = `kp_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    const result = await (connection as PgConnection).query({ name, text: numbered(sql), values: [...values] });
    return result.rows;
  },
};
