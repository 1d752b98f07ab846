import {
  ADDRESSES_KEPT,
  OUTCOMES,
  type AddressSeen,
  type HourCount,
  type KeyUsageStore,
  type UsageOutcome,
} from '../../clients/key-usage-store.js';
import { deleteInBatches } from './batched-delete.js';
import { systemClock, type Clock } from '../../clock.js';
import { dialectOf, type Db } from './knex.js';
import { writeOnce } from './written-batches.js';

const HOURLY = 'key_usage_hourly';
const ADDRESSES = 'key_usage_addresses';
/** Rows per INSERT: well under every database's bind-variable limit. */
const PER_STATEMENT = 200;

type Num = number | string;

/** Key usage in `key_usage_hourly` and `key_usage_addresses`, each batch one transaction of upserts, once per id. */
export function createSqlKeyUsage(db: Db, clock: Clock = systemClock): KeyUsageStore {
  const d = dialectOf(db);
  const addHours = `${d.onConflictUpdate(['client_id', 'hour'])} ${OUTCOMES.map((o) => `${o} = ${HOURLY}.${o} + ${d.inserted(o)}`).join(', ')}`;
  const addAddresses =
    `${d.onConflictUpdate(['client_id', 'address'])} ` +
    `first_seen = ${d.least(`${ADDRESSES}.first_seen`, d.inserted('first_seen'))}, ` +
    `last_seen = ${d.greatest(`${ADDRESSES}.last_seen`, d.inserted('last_seen'))}, ` +
    `count = ${ADDRESSES}.count + ${d.inserted('count')}`;

  return {
    async add(hours, addresses, batchId) {
      await writeOnce(
        db,
        batchId,
        async (trx) => {
          for (const part of chunks(hours, PER_STATEMENT)) {
            await trx.raw(
              `INSERT INTO ${HOURLY} (client_id, hour, ${OUTCOMES.join(', ')}) VALUES ${part.map(() => `(?, ?, ${OUTCOMES.map(() => '?').join(', ')})`).join(', ')} ${addHours}`,
              part.flatMap(({ clientId, hour, counts }) => [clientId, hour, ...OUTCOMES.map((o) => counts[o])]),
            );
          }
          for (const part of chunks(addresses, PER_STATEMENT)) {
            await trx.raw(
              `INSERT INTO ${ADDRESSES} (client_id, address, first_seen, last_seen, count) VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')} ${addAddresses}`,
              part.flatMap(({ clientId, address, first, last, count }) => [clientId, address, first, last, count]),
            );
          }
          // Keep the most recent addresses of each key written to. Which keys are past the limit is one
          // question per chunk of keys (a flush writes hundreds, and most hold a few addresses).
          const over: string[] = [];
          for (const part of chunks([...new Set(addresses.map((a) => a.clientId))], PER_STATEMENT)) {
            over.push(
              ...((await trx(ADDRESSES)
                .whereIn('client_id', part)
                .groupBy('client_id')
                .havingRaw('COUNT(*) > ?', [ADDRESSES_KEPT])
                .pluck('client_id')) as string[]),
            );
          }
          for (const clientId of over) {
            const old = (await trx(ADDRESSES)
              .where({ client_id: clientId })
              .orderBy('last_seen', 'desc')
              .offset(ADDRESSES_KEPT)
              .limit(1000)
              .pluck('address')) as string[];
            if (old.length) await trx(ADDRESSES).where({ client_id: clientId }).whereIn('address', old).delete();
          }
        },
        clock,
      );
    },

    async hourly(clientId, fromHour, to) {
      const rows = (await db(HOURLY)
        .where({ client_id: clientId })
        .whereBetween('hour', [fromHour, to])
        .orderBy('hour')) as Array<{ hour: Num } & Record<UsageOutcome, Num>>;
      return rows.map((row): HourCount => ({
        clientId,
        hour: Number(row.hour),
        counts: Object.fromEntries(OUTCOMES.map((o) => [o, Number(row[o])])) as Record<UsageOutcome, number>,
      }));
    },

    async addresses(clientId, limit) {
      const rows = (await db(ADDRESSES)
        .where({ client_id: clientId })
        .orderBy('last_seen', 'desc')
        .limit(limit)) as Array<{
        address: string;
        first_seen: Num;
        last_seen: Num;
        count: Num;
      }>;
      return rows.map((r): AddressSeen => ({
        clientId,
        address: r.address,
        first: Number(r.first_seen),
        last: Number(r.last_seen),
        count: Number(r.count),
      }));
    },

    deleteHoursBefore: (before) =>
      deleteInBatches(db, {
        table: HOURLY,
        key: ['client_id', 'hour'],
        where: (rows) => rows.where('hour', '<', before),
      }),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
