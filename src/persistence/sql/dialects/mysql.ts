import type { Knex } from 'knex';
import type { Dialect } from '../dialect.js';

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
  onConflictUpdate: () => 'ON DUPLICATE KEY UPDATE',
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
