import { secondsOf, systemClock, type Clock } from '../clock.js';
import {
  ADDRESSES_KEPT,
  OUTCOMES,
  type AddressSeen,
  type HourCount,
  type KeyUsageStore,
  type OutcomeCounts,
  type UsageOutcome,
} from './key-usage-store.js';
import { createWriteBehind } from './write-behind.js';

export { ADDRESSES_KEPT, type UsageOutcome } from './key-usage-store.js';

/** How long hourly counts are kept. */
export const USAGE_RETENTION_SECONDS = 90 * 86_400;

export interface KeyUsage {
  /** Counts `calls` calls (one by default) in memory; written with the next flush, never on the request's path. */
  record(clientId: string, outcome: UsageOutcome, address: string | undefined, at?: number, calls?: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Calls and address sightings recorded and not yet written. */
  readonly unwritten: number;
  /** What was dropped because the buffer was full (the database failing for long); never written. */
  readonly dropped: number;
  /** Hourly or daily counts between `from` and `to` (epoch seconds), and the addresses kept. */
  read(clientId: string, range: { from: number; to: number; granularity: 'hour' | 'day' }): Promise<UsageReport>;
}

export interface UsageReport {
  readonly data: ReadonlyArray<{ t: string } & Record<UsageOutcome, number>>;
  readonly addresses: ReadonlyArray<{ address: string; first_seen: string; last_seen: string; count: number }>;
}

type Pending = { hour: HourCount & { counts: OutcomeCounts } } | { address: AddressSeen };

const none = (): OutcomeCounts => ({
  valid: 0,
  rate_limited: 0,
  usage_exceeded: 0,
  insufficient_scope: 0,
  forbidden_ip: 0,
});

/**
 * Usage of keys used directly, for review after a leak: calls per hour by
 * outcome and the last source addresses. Aggregated in memory and written
 * in one batch per flush (as `usage_count` is), so a call costs no write;
 * a failed flush is put back and written with the next one.
 */
export function createKeyUsage(
  store: KeyUsageStore,
  {
    flushEveryMs = 1000,
    onError,
    clock = systemClock,
  }: { flushEveryMs?: number; onError?: (err: Error) => void; clock?: Clock } = {},
): KeyUsage {
  const buffer = createWriteBehind<Pending>({
    async write(batch, id) {
      const hours: HourCount[] = [];
      const addresses: AddressSeen[] = [];
      for (const entry of batch.values()) {
        if ('hour' in entry) hours.push(entry.hour);
        else addresses.push(entry.address);
      }
      await store.add(hours, addresses, id);
    },
    merge(into, from) {
      if ('hour' in into && 'hour' in from) for (const o of OUTCOMES) into.hour.counts[o] += from.hour.counts[o];
      else if ('address' in into && 'address' in from) {
        into.address.first = Math.min(into.address.first, from.address.first);
        into.address.last = Math.max(into.address.last, from.address.last);
        into.address.count += from.address.count;
      }
    },
    weigh: (entry) => ('hour' in entry ? OUTCOMES.reduce((sum, o) => sum + entry.hour.counts[o], 0) : 0),
    flushEveryMs,
    onError,
  });

  return {
    record(clientId, outcome, address, at = secondsOf(clock), calls = 1) {
      const hour = at - (at % 3600);
      const counts = none();
      counts[outcome] = calls;
      buffer.add(`h\0${clientId}\0${hour}`, { hour: { clientId, hour, counts } });
      if (address)
        buffer.add(`a\0${clientId}\0${address}`, { address: { clientId, address, first: at, last: at, count: calls } });
    },
    flush: () => buffer.flush(),
    close: () => buffer.close(),
    get unwritten() {
      return buffer.unwritten;
    },
    get dropped() {
      return buffer.dropped;
    },
    async read(clientId, { from, to, granularity }) {
      const rows = await store.hourly(clientId, from - (from % 3600), to);
      const step = granularity === 'day' ? 86_400 : 3600;
      const buckets = new Map<number, OutcomeCounts>();
      for (const row of rows) {
        const t = row.hour - (row.hour % step);
        const bucket = buckets.get(t) ?? none();
        for (const o of OUTCOMES) bucket[o] += row.counts[o];
        buckets.set(t, bucket);
      }
      const kept = await store.addresses(clientId, ADDRESSES_KEPT);
      const iso = (s: number) => new Date(s * 1000).toISOString();
      return {
        data: [...buckets].map(([t, counts]) => ({ t: iso(t), ...counts })),
        addresses: kept.map((r) => ({
          address: r.address,
          first_seen: iso(r.first),
          last_seen: iso(r.last),
          count: r.count,
        })),
      };
    },
  };
}

/** Deletes hourly counts older than the retention (the sweep). */
export function deleteOldUsage(store: KeyUsageStore, clock: Clock = systemClock): Promise<number> {
  return store.deleteHoursBefore(secondsOf(clock) - USAGE_RETENTION_SECONDS);
}
