import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createUsageRecorder, type UsageCountStore } from '../../src/clients/usage.js';
import { createSqlUsageCounts } from '../../src/persistence/sql/usage-counts.js';
import { anotherProcess, storeTargets, type OpenStore } from './targets.js';

const TARGETS = storeTargets<UsageCountStore>('usage counts', { sql: (db) => createSqlUsageCounts(db) });

describe.each(TARGETS)('usage count store contract on $name', (target) => {
  let open: OpenStore<UsageCountStore>;
  const row = (clientId: string) =>
    open.db!('o_auth_clients').where({ client_id: clientId }).first('usage_count', 'last_used_at');
  beforeAll(async () => {
    open = await target.open();
    // As a runbook inserts a client: every other column has a default.
    await open.db!('o_auth_clients').insert(['busy', 'a', 'b', 'kept'].map((client_id) => ({ client_id })));
  });
  afterAll(async () => open?.close());

  it('20 concurrent batches (from two processes on a database with row locks) add up exactly; the latest time wins', async () => {
    const other = anotherProcess(open);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? other : open.store).add([{ clientId: 'busy', count: 1, lastUsedAt: 1000 + i }]),
      ),
    );
    expect(await row('busy')).toEqual({ usage_count: 20, last_used_at: 1019 });
  });

  it('a batch writes each client its own count; an unknown client is no error', async () => {
    await open.store.add([
      { clientId: 'a', count: 2, lastUsedAt: 5 },
      { clientId: 'b', count: 3, lastUsedAt: 7 },
      { clientId: 'nobody', count: 1, lastUsedAt: 7 },
    ]);
    await open.store.add([{ clientId: 'a', count: 1, lastUsedAt: 4 }]);
    expect(await row('a')).toEqual({ usage_count: 3, last_used_at: 5 });
    expect(await row('b')).toEqual({ usage_count: 3, last_used_at: 7 });
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
});
