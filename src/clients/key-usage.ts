import type { Db } from '../persistence/sql/knex.js';

/** What a direct use of a key came to, as counted per hour (docs/contract.md usage). */
export type UsageOutcome = 'valid' | 'rate_limited' | 'usage_exceeded' | 'insufficient_scope';
const OUTCOMES: readonly UsageOutcome[] = ['valid', 'rate_limited', 'usage_exceeded', 'insufficient_scope'];

/** How many source addresses are kept per key, the most recently seen. */
export const ADDRESSES_KEPT = 20;
/** How long hourly counts are kept. */
export const USAGE_RETENTION_SECONDS = 90 * 86_400;

export interface KeyUsage {
  /** Counts `calls` calls (one by default) in memory; written with the next flush, never on the request's path. */
  record(clientId: string, outcome: UsageOutcome, address: string | undefined, at?: number, calls?: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Hourly or daily counts between `from` and `to` (epoch seconds), and the addresses kept. */
  read(clientId: string, range: { from: number; to: number; granularity: 'hour' | 'day' }): Promise<UsageReport>;
}

export interface UsageReport {
  readonly data: ReadonlyArray<{ t: string } & Record<UsageOutcome, number>>;
  readonly addresses: ReadonlyArray<{ address: string; first_seen: string; last_seen: string; count: number }>;
}

type Counts = Record<UsageOutcome, number>;

/**
 * Usage of keys used directly, for review after a leak: calls per hour by
 * outcome and the last source addresses. Aggregated in memory and written
 * in one batch per flush (as `usage_count` is), so a call costs no write;
 * a failed flush is put back and written with the next one.
 */
export function createKeyUsage(
  db: Db,
  {
    flushEveryMs = 1000,
    onError = (_err: Error): void => undefined,
  }: { flushEveryMs?: number; onError?: (err: Error) => void } = {},
): KeyUsage {
  let hours = new Map<string, { clientId: string; hour: number; counts: Counts }>();
  let addresses = new Map<string, { clientId: string; address: string; first: number; last: number; count: number }>();
  let flushing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    const h = hours;
    const a = addresses;
    hours = new Map();
    addresses = new Map();
    flushing = flushing
      .then(() => (h.size || a.size ? writeAdding(db, h, a) : undefined))
      .catch((err: Error) => {
        // Put back what was not written; it goes with the next flush.
        for (const [key, entry] of h) {
          const now = hours.get(key);
          if (now) for (const o of OUTCOMES) now.counts[o] += entry.counts[o];
          else hours.set(key, entry);
        }
        for (const [key, entry] of a) {
          const now = addresses.get(key);
          if (now)
            Object.assign(now, {
              first: Math.min(now.first, entry.first),
              last: Math.max(now.last, entry.last),
              count: now.count + entry.count,
            });
          else addresses.set(key, entry);
        }
        onError(err);
      });
    return flushing;
  }

  const timer = setInterval(() => void flush(), flushEveryMs);
  timer.unref();

  return {
    record(clientId, outcome, address, at = Math.floor(Date.now() / 1000), calls = 1) {
      const hour = at - (at % 3600);
      const key = `${clientId}\0${hour}`;
      let entry = hours.get(key);
      if (!entry)
        hours.set(
          key,
          (entry = { clientId, hour, counts: { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 } }),
        );
      entry.counts[outcome] += calls;
      if (!address) return;
      const akey = `${clientId}\0${address}`;
      const seen = addresses.get(akey);
      if (seen) {
        seen.last = Math.max(seen.last, at);
        seen.count += calls;
      } else addresses.set(akey, { clientId, address, first: at, last: at, count: calls });
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    async read(clientId, { from, to, granularity }) {
      const rows = (await db('key_usage_hourly')
        .where({ client_id: clientId })
        .whereBetween('hour', [from - (from % 3600), to])
        .orderBy('hour')) as Array<{ hour: number | string } & Record<UsageOutcome, number | string>>;
      const step = granularity === 'day' ? 86_400 : 3600;
      const buckets = new Map<number, Counts>();
      for (const row of rows) {
        const hour = Number(row.hour);
        const t = hour - (hour % step);
        const bucket = buckets.get(t) ?? { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 };
        for (const o of OUTCOMES) bucket[o] += Number(row[o]);
        buckets.set(t, bucket);
      }
      const kept = (await db('key_usage_addresses')
        .where({ client_id: clientId })
        .orderBy('last_seen', 'desc')
        .limit(ADDRESSES_KEPT)) as Array<{
        address: string;
        first_seen: number | string;
        last_seen: number | string;
        count: number | string;
      }>;
      const iso = (s: number | string) => new Date(Number(s) * 1000).toISOString();
      return {
        data: [...buckets].map(([t, counts]) => ({ t: iso(t), ...counts })),
        addresses: kept.map((r) => ({
          address: r.address,
          first_seen: iso(r.first_seen),
          last_seen: iso(r.last_seen),
          count: Number(r.count),
        })),
      };
    },
  };
}

/**
 * Adds a batch to the stored counts in one transaction: counts add up, an
 * address keeps its first sighting and its latest, and only the most recent
 * ADDRESSES_KEPT addresses of each key are kept.
 */
async function writeAdding(
  db: Db,
  hours: Map<string, { clientId: string; hour: number; counts: Counts }>,
  addresses: Map<string, { clientId: string; address: string; first: number; last: number; count: number }>,
) {
  const mysql = db.client.config.client === 'mysql2';
  const add = (table: string, column: string) =>
    mysql ? `${column} = ${column} + VALUES(${column})` : `${column} = ${table}.${column} + excluded.${column}`;
  await db.transaction(async (trx) => {
    for (const part of chunks([...hours.values()], 200)) {
      const values = part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
      const bindings = part.flatMap(({ clientId, hour, counts }) => [
        clientId,
        hour,
        counts.valid,
        counts.rate_limited,
        counts.usage_exceeded,
        counts.insufficient_scope,
      ]);
      const conflict = mysql ? 'ON DUPLICATE KEY UPDATE' : 'ON CONFLICT(client_id, hour) DO UPDATE SET';
      await trx.raw(
        `INSERT INTO key_usage_hourly (client_id, hour, valid, rate_limited, usage_exceeded, insufficient_scope) VALUES ${values} ${conflict} ${OUTCOMES.map((o) => add('key_usage_hourly', o)).join(', ')}`,
        bindings,
      );
    }
    for (const part of chunks([...addresses.values()], 200)) {
      const values = part.map(() => '(?, ?, ?, ?, ?)').join(', ');
      const bindings = part.flatMap(({ clientId, address, first, last, count }) => [
        clientId,
        address,
        first,
        last,
        count,
      ]);
      const update = mysql
        ? 'ON DUPLICATE KEY UPDATE first_seen = LEAST(first_seen, VALUES(first_seen)), last_seen = GREATEST(last_seen, VALUES(last_seen)), count = count + VALUES(count)'
        : 'ON CONFLICT(client_id, address) DO UPDATE SET first_seen = MIN(key_usage_addresses.first_seen, excluded.first_seen), last_seen = MAX(key_usage_addresses.last_seen, excluded.last_seen), count = key_usage_addresses.count + excluded.count';
      await trx.raw(
        `INSERT INTO key_usage_addresses (client_id, address, first_seen, last_seen, count) VALUES ${values} ${update}`,
        bindings,
      );
    }
    // Keep the most recent addresses of each key written to.
    for (const clientId of new Set([...addresses.values()].map((a) => a.clientId))) {
      const old = (await trx('key_usage_addresses')
        .where({ client_id: clientId })
        .orderBy('last_seen', 'desc')
        .offset(ADDRESSES_KEPT)
        .limit(1000)
        .pluck('address')) as string[];
      if (old.length) await trx('key_usage_addresses').where({ client_id: clientId }).whereIn('address', old).delete();
    }
  });
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Deletes hourly counts older than the retention, in batches. */
export async function deleteOldUsage(db: Db, batchSize = 1000): Promise<number> {
  const before = Math.floor(Date.now() / 1000) - USAGE_RETENTION_SECONDS;
  let total = 0;
  for (;;) {
    const rows = (await db('key_usage_hourly')
      .where('hour', '<', before)
      .limit(batchSize)
      .select('client_id', 'hour')) as Array<{ client_id: string; hour: number }>;
    if (!rows.length) return total;
    await db('key_usage_hourly')
      .whereIn(
        ['client_id', 'hour'],
        rows.map((r) => [r.client_id, r.hour]),
      )
      .delete();
    total += rows.length;
    if (rows.length < batchSize) return total;
  }
}
