import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createKeyUsage, deleteOldUsage, USAGE_RETENTION_SECONDS } from '../../src/clients/key-usage.js';
import { ADDRESSES_KEPT, type KeyUsageStore } from '../../src/clients/key-usage-store.js';
import { createSqlKeyUsage } from '../../src/persistence/sql/key-usage.js';
import { anotherProcess, storeTargets, type OpenStore } from './targets.js';

const TARGETS = storeTargets<KeyUsageStore>('key usage', { sql: (db) => createSqlKeyUsage(db) });
const HOUR = 3600;
const T0 = 1_900_000_800; // on the hour
const none = { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0, forbidden_ip: 0 };

describe.each(TARGETS)('key usage store contract on $name', (target) => {
  let open: OpenStore<KeyUsageStore>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('20 concurrent batches (from two processes on a database with row locks) add up exactly', async () => {
    const other = anotherProcess(open);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? other : open.store).add(
          [{ clientId: 'busy', hour: T0, counts: { ...none, valid: 1 } }],
          [{ clientId: 'busy', address: '192.0.2.1', first: T0 + i, last: T0 + i, count: 1 }],
          randomUUID(),
        ),
      ),
    );
    expect(await open.store.hourly('busy', T0, T0)).toEqual([
      { clientId: 'busy', hour: T0, counts: { ...none, valid: 20 } },
    ]);
    expect(await open.store.addresses('busy', 5)).toEqual([
      { clientId: 'busy', address: '192.0.2.1', first: T0, last: T0 + 19, count: 20 },
    ]);
  });

  it(`keeps the ${ADDRESSES_KEPT} most recently seen addresses of a key`, async () => {
    const seen = Array.from({ length: ADDRESSES_KEPT + 5 }, (_, i) => ({
      clientId: 'many',
      address: `198.51.100.${i}`,
      first: T0 + i,
      last: T0 + i,
      count: 1,
    }));
    await open.store.add([], seen, randomUUID());
    const kept = await open.store.addresses('many', 100);
    expect(kept.map((a) => a.address)).toEqual(
      seen
        .slice(5)
        .reverse()
        .map((a) => a.address),
    );
  });

  it('a batch prunes only the keys past the limit, and costs a few statements, not one per key', async () => {
    // Key "over" holds ADDRESSES_KEPT addresses already; the batch brings it 3 more (the oldest 3 go) and 300 other keys one each.
    const address = (clientId: string, i: number) => ({
      clientId,
      address: `203.0.113.${i}`,
      first: T0 + i,
      last: T0 + i,
      count: 1,
    });
    await open.store.add(
      [],
      Array.from({ length: ADDRESSES_KEPT }, (_, i) => address('over', i)),
      randomUUID(),
    );
    const statements: string[] = [];
    const seen = (q: { sql: string }) => statements.push(q.sql);
    open.db!.on('query', seen);
    try {
      await open.store.add(
        [],
        [
          ...Array.from({ length: 3 }, (_, i) => address('over', ADDRESSES_KEPT + i)),
          ...Array.from({ length: 300 }, (_, i) => address(`one-${i}`, 1)),
        ],
        randomUUID(),
      );
    } finally {
      open.db!.off('query', seen);
    }
    const over = await open.store.addresses('over', 100);
    expect(over.map((a) => a.address)).toEqual(
      Array.from({ length: ADDRESSES_KEPT }, (_, i) => `203.0.113.${ADDRESSES_KEPT + 2 - i}`),
    );
    expect(await open.store.addresses('one-299', 100)).toEqual([address('one-299', 1)]);
    expect(statements.length).toBeLessThanOrEqual(10);
  });

  it('the recorder counts by hour and outcome, written in one batch, read hourly or daily', async () => {
    const clock = manualClock((T0 + 10) * 1000);
    const usage = createKeyUsage(open.store, { clock, flushEveryMs: 60_000 });
    usage.record('rec', 'valid', '192.0.2.7');
    usage.record('rec', 'rate_limited', '192.0.2.7');
    clock.advance(HOUR * 1000);
    usage.record('rec', 'valid', undefined, undefined, 3);
    expect(await open.store.hourly('rec', T0, T0 + 2 * HOUR)).toEqual([]);
    expect(usage.unwritten).toBe(5);
    await usage.close();
    expect(usage.unwritten).toBe(0);
    const hourly = await usage.read('rec', { from: T0, to: T0 + 2 * HOUR, granularity: 'hour' });
    expect(hourly.data).toEqual([
      { t: new Date(T0 * 1000).toISOString(), ...none, valid: 1, rate_limited: 1 },
      { t: new Date((T0 + HOUR) * 1000).toISOString(), ...none, valid: 3 },
    ]);
    expect(hourly.addresses).toMatchObject([{ address: '192.0.2.7', count: 2 }]);
    const daily = await usage.read('rec', { from: T0, to: T0 + 2 * HOUR, granularity: 'day' });
    expect(daily.data.reduce((sum, d) => sum + d.valid, 0)).toBe(4);
  });

  it('a write the database refuses loses nothing: the next flush writes it, once', async () => {
    const usage = createKeyUsage(open.store, { clock: manualClock(T0 * 1000), flushEveryMs: 60_000 });
    usage.record('kept', 'valid', '192.0.2.9', undefined, 2);
    await open.db!.schema.renameTable('key_usage_hourly', 'key_usage_hourly_away');
    try {
      await usage.flush();
    } finally {
      await open.db!.schema.renameTable('key_usage_hourly_away', 'key_usage_hourly');
    }
    expect(usage.unwritten).toBe(2);
    expect(await open.store.hourly('kept', T0, T0)).toEqual([]);
    // All or nothing: the addresses were not written either.
    expect(await open.store.addresses('kept', 5)).toEqual([]);
    usage.record('kept', 'valid', '192.0.2.9');
    await usage.close();
    expect(usage.unwritten).toBe(0);
    expect((await open.store.hourly('kept', T0, T0))[0]?.counts.valid).toBe(3);
    expect((await open.store.addresses('kept', 5))[0]?.count).toBe(3);
  });

  it('the sweep deletes hours older than the retention and keeps the rest', async () => {
    const clock = manualClock(T0 * 1000);
    await open.store.add(
      [
        { clientId: 'aged', hour: T0, counts: { ...none, valid: 1 } },
        { clientId: 'aged', hour: T0 + HOUR, counts: { ...none, valid: 1 } },
      ],
      [],
      randomUUID(),
    );
    clock.advance((USAGE_RETENTION_SECONDS + HOUR) * 1000);
    expect(await deleteOldUsage(open.store, clock)).toBeGreaterThanOrEqual(1);
    expect((await open.store.hourly('aged', 0, T0 + 2 * HOUR)).map((h) => h.hour)).toEqual([T0 + HOUR]);
  });

  it('a batch added again under the same id (its first answer lost) adds nothing; another id adds again', async () => {
    const id = randomUUID();
    const batch = [
      [{ clientId: 'twice', hour: T0, counts: { ...none, valid: 3 } }],
      [{ clientId: 'twice', address: '192.0.2.3', first: T0, last: T0 + 1, count: 3 }],
    ] as const;
    await open.store.add(...batch, id);
    await open.store.add(...batch, id);
    expect((await open.store.hourly('twice', T0, T0))[0]?.counts.valid).toBe(3);
    expect((await open.store.addresses('twice', 5))[0]?.count).toBe(3);
    await open.store.add(...batch, randomUUID());
    expect((await open.store.hourly('twice', T0, T0))[0]?.counts.valid).toBe(6);
    expect((await open.store.addresses('twice', 5))[0]?.count).toBe(6);
  });
});
