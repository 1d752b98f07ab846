import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createUsageRecorder, type UsageCountStore } from '../../src/clients/usage.js';
import { createSqlUsageCounts } from '../../src/persistence/sql/usage-counts.js';
import { deleteOldWrittenBatches, WRITTEN_BATCHES_KEPT_SECONDS } from '../../src/persistence/sql/written-batches.js';
import { anotherProcess, storeTargets, type OpenStore } from './targets.js';

/** More clients than one statement writes (300). */
const MANY = 650;

const TARGETS = storeTargets<UsageCountStore>('usage counts', { sql: (db) => createSqlUsageCounts(db) });

describe.each(TARGETS)('usage count store contract on $name', (target) => {
  let open: OpenStore<UsageCountStore>;
  const row = (clientId: string) =>
    open.db!('o_auth_clients').where({ client_id: clientId }).first('usage_count', 'last_used_at');
  beforeAll(async () => {
    open = await target.open();
    // As a runbook inserts a client: every other column has a default.
    await open.db!('o_auth_clients').insert(
      ['busy', 'a', 'b', 'kept', 'twice', 'swept', 'made'].map((client_id) => ({ client_id })),
    );
    await open.db!.batchInsert(
      'o_auth_clients',
      Array.from({ length: MANY }, (_, i) => ({ client_id: `many-${i}`, created_at: 100 })),
      200,
    );
  });
  afterAll(async () => open?.close());

  it('20 concurrent batches (from two processes on a database with row locks) add up exactly; the latest time wins', async () => {
    const other = anotherProcess(open);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? other : open.store).add([{ clientId: 'busy', count: 1, lastUsedAt: 1000 + i }], randomUUID()),
      ),
    );
    expect(await row('busy')).toEqual({ usage_count: 20, last_used_at: 1019 });
  });

  it('a batch writes each client its own count; an unknown client is no error', async () => {
    await open.store.add(
      [
        { clientId: 'a', count: 2, lastUsedAt: 5 },
        { clientId: 'b', count: 3, lastUsedAt: 7 },
        { clientId: 'nobody', count: 1, lastUsedAt: 7 },
      ],
      randomUUID(),
    );
    await open.store.add([{ clientId: 'a', count: 1, lastUsedAt: 4 }], randomUUID());
    expect(await row('a')).toEqual({ usage_count: 3, last_used_at: 5 });
    expect(await row('b')).toEqual({ usage_count: 3, last_used_at: 7 });
  });

  it(`a batch of ${MANY} clients writes each its own count and latest time, in a few statements`, async () => {
    const statements: string[] = [];
    const seen = (q: { sql: string }) => statements.push(q.sql);
    open.db!.on('query', seen);
    try {
      await open.store.add(
        Array.from({ length: MANY }, (_, i) => ({ clientId: `many-${i}`, count: i + 1, lastUsedAt: 1000 + i })),
        randomUUID(),
      );
    } finally {
      open.db!.off('query', seen);
    }
    const rows = await open.db!('o_auth_clients')
      .where('client_id', 'like', 'many-%')
      .select('client_id', 'usage_count', 'last_used_at', 'created_at');
    expect(rows).toHaveLength(MANY);
    for (const row of rows) {
      const i = Number(String(row.client_id).slice('many-'.length));
      expect([Number(row.usage_count), Number(row.last_used_at), Number(row.created_at)]).toEqual([
        i + 1,
        1000 + i,
        100,
      ]);
    }
    // One UPDATE per 300 clients, the batch's id, and the transaction: not one statement per client.
    expect(statements.length).toBeLessThanOrEqual(8);
  });

  it('a row inserted by hand with no created time takes its first recorded use as one, and keeps it', async () => {
    const created = () => open.db!('o_auth_clients').where({ client_id: 'made' }).first('created_at');
    await open.store.add([{ clientId: 'made', count: 1, lastUsedAt: 50 }], randomUUID());
    await open.store.add([{ clientId: 'made', count: 1, lastUsedAt: 60 }], randomUUID());
    expect(Number((await created()).created_at)).toBe(50);
    expect(await row('made')).toEqual({ usage_count: 2, last_used_at: 60 });
  });

  it('the recorder keeps what a refused write could not write and writes it with the next flush, once', async () => {
    const clock = manualClock(1_900_000_000_000);
    const usage = createUsageRecorder(open.store, { clock, flushEveryMs: 60_000 });
    usage.record('kept');
    usage.record('kept');
    await open.db!.schema.renameTable('o_auth_clients', 'o_auth_clients_away');
    try {
      await usage.flush();
    } finally {
      await open.db!.schema.renameTable('o_auth_clients_away', 'o_auth_clients');
    }
    expect(usage.unwritten).toBe(2);
    expect(await row('kept')).toEqual({ usage_count: 0, last_used_at: null });
    clock.advance(5000);
    usage.record('kept');
    await usage.close();
    expect(usage.unwritten).toBe(0);
    expect(await row('kept')).toEqual({ usage_count: 3, last_used_at: 1_900_000_005 });
  });

  it('a batch added again under the same id (its first answer lost) adds nothing; another id adds again', async () => {
    const id = randomUUID();
    await open.store.add([{ clientId: 'twice', count: 4, lastUsedAt: 10 }], id);
    await open.store.add([{ clientId: 'twice', count: 4, lastUsedAt: 10 }], id);
    expect(await row('twice')).toEqual({ usage_count: 4, last_used_at: 10 });
    await open.store.add([{ clientId: 'twice', count: 4, lastUsedAt: 11 }], randomUUID());
    expect(await row('twice')).toEqual({ usage_count: 8, last_used_at: 11 });
  });

  it('the sweep forgets the ids of batches written more than a day ago, and keeps the recent ones', async () => {
    const [old, recent] = [randomUUID(), randomUUID()];
    await open.store.add([{ clientId: 'swept', count: 1, lastUsedAt: 10 }], old);
    await open.store.add([{ clientId: 'swept', count: 1, lastUsedAt: 10 }], recent);
    const now = Math.floor(Date.now() / 1000);
    await open.db!('written_batches')
      .where({ id: old })
      .update({ written_at: now - WRITTEN_BATCHES_KEPT_SECONDS - 60 });
    await open.db!('written_batches')
      .where({ id: recent })
      .update({ written_at: now - WRITTEN_BATCHES_KEPT_SECONDS + 60 });
    expect(await deleteOldWrittenBatches(open.db!)).toBeGreaterThanOrEqual(1);
    expect(await open.db!('written_batches').whereIn('id', [old, recent]).pluck('id')).toEqual([recent]);
  });
});
