import type { Knex } from 'knex';
import type { Dialect } from '../dialect.js';

type MysqlConnection = {
  execute(sql: string, values: readonly unknown[], done: (err: Error | null, rows: unknown[]) => void): void;
};

export const mysql: Dialect = {
  name: 'mysql',
  knexClient: 'mysql2',
  schemes: ['mysql:'],
  knexConfig: (url) => ({
    client: 'mysql2',
    connection: {
      uri: url,
      // Times are stored as epoch seconds; keep BIGINTs as numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      charset: 'utf8mb4',
    } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 10 },
  }),
  isDuplicateKey: (err) => (err as { code?: string }).code === 'ER_DUP_ENTRY',
  rowLocks: true,
  quote: (identifier) => `\`${identifier}\``,
  // [rows, fields] (a write: [ResultSetHeader, undefined]).
  rawRows: (result) => (result as [unknown[]])[0],
  returningId: false,
  // mysql2 keeps a statement prepared per connection (the binary protocol needs no escaping).
  prepared: (connection, sql, values) =>
    new Promise((resolve, reject) =>
      (connection as MysqlConnection).execute(sql, values, (err, rows) => (err ? reject(err) : resolve(rows))),
    ),
  onConflictUpdate: () => 'ON DUPLICATE KEY UPDATE',
  // An assignment that changes nothing (INSERT IGNORE would also hide other errors).
  onConflictKeep: (keys) => `ON DUPLICATE KEY UPDATE ${keys[0]} = ${keys[0]}`,
  upsertRepeats: true,
  inserted: (column) => `VALUES(${column})`,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  // MariaDB's RETURNING does not cover ON DUPLICATE KEY UPDATE.
  upsertReturns: false,
  capture: (name, expr) => `(@${name} := ${expr})`,
  readCaptured: (names) => `SELECT ${names.map((n) => `@${n} AS ${n}`).join(', ')}`,
  // Row constructors read by the primary key.
  rowsIn: (tuples) => `IN (${tuples})`,
};
