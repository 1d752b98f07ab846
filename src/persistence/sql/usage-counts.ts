import type { UsageCountStore } from '../../clients/usage.js';
import { systemClock, type Clock } from '../../clock.js';
import type { Knex } from 'knex';
import { dialectOf, type Db } from './knex.js';
import { writeOnce } from './written-batches.js';

/** Clients per UPDATE: one statement stays well under every database's bind-variable limit. */
const PER_STATEMENT = 300;

/**
 * `usage_count` and `last_used_at` on `o_auth_clients`: one UPDATE per 300
 * clients (a join to a VALUES list, or MySQL's CASE), all in one transaction (a failed batch is retried whole, so it
 * must have written nothing). Add to the count, keep the latest time; a row
 * inserted by hand with no created time takes its first recorded use as one.
 * A batch is added once per id, however often it is written (written-batches.ts).
 */
export function createSqlUsageCounts(db: Db, clock: Clock = systemClock): UsageCountStore {
  const write = dialectOf(db).updatesFromValues ? updateFromValues : updateByCase;
  return {
    async add(batch, batchId) {
      await writeOnce(
        db,
        batchId,
        async (trx) => {
          for (let i = 0; i < batch.length; i += PER_STATEMENT) await write(trx, batch.slice(i, i + PER_STATEMENT));
        },
        clock,
      );
    },
  };
}

type Part = Parameters<UsageCountStore['add']>[0];

/**
 * Each client's row joined to its own tuple: a tenth of the CASE form's
 * cost for a flush of hundreds of clients on SQLite (BENCHMARKS.md, session 9).
 * A batch names each client once (the recorder sums per client).
 */
function updateFromValues(trx: Knex.Transaction, part: Part) {
  return trx.raw(
    `UPDATE o_auth_clients SET usage_count = o_auth_clients.usage_count + v.column2, ` +
      `last_used_at = (CASE WHEN o_auth_clients.last_used_at IS NULL OR o_auth_clients.last_used_at < v.column3 THEN v.column3 ELSE o_auth_clients.last_used_at END), ` +
      `created_at = COALESCE(o_auth_clients.created_at, v.column3) ` +
      `FROM (VALUES ${part.map(() => '(?, CAST(? AS BIGINT), CAST(? AS BIGINT))').join(', ')}) AS v ` +
      `WHERE o_auth_clients.client_id = v.column1`,
    part.flatMap((u) => [u.clientId, u.count, u.lastUsedAt]),
  );
}

/** MySQL: one UPDATE whose CASE picks each client's values. */
function updateByCase(trx: Knex.Transaction, part: Part) {
  const count = part.map(() => 'WHEN ? THEN ?').join(' ');
  const latest = part
    .map(() => 'WHEN ? THEN (CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END)')
    .join(' ');
  const first = part.map(() => 'WHEN ? THEN ?').join(' ');
  return trx.raw(
    `UPDATE o_auth_clients SET usage_count = usage_count + (CASE client_id ${count} ELSE 0 END), last_used_at = (CASE client_id ${latest} ELSE last_used_at END), created_at = COALESCE(created_at, CASE client_id ${first} ELSE created_at END) WHERE client_id IN (${part.map(() => '?').join(', ')})`,
    [
      ...part.flatMap((u) => [u.clientId, u.count]),
      ...part.flatMap((u) => [u.clientId, u.lastUsedAt, u.lastUsedAt]),
      ...part.flatMap((u) => [u.clientId, u.lastUsedAt]),
      ...part.map((u) => u.clientId),
    ],
  );
}
