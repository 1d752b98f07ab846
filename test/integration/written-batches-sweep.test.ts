import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITTEN_BATCHES_KEPT_SECONDS } from '../../src/persistence/sql/written-batches.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { until } from '../faults/harness.js';

/** The running server's sweep forgets the ids of usage batches written more than a day ago (the store's contract tests the rule). */
describe('the sweep of written usage batches', () => {
  let server: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await DATABASES[0]!.create();
    drop = created.drop;
    server = await startServer(created.url, { expired_rows_sweep_seconds: 1 });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('deletes an id older than a day within a sweep and keeps a recent one', async () => {
    const now = Math.floor(Date.now() / 1000);
    await server.keyport.db('written_batches').insert([
      { id: 'old-batch', written_at: now - WRITTEN_BATCHES_KEPT_SECONDS - 60 },
      { id: 'recent-batch', written_at: now - 60 },
    ]);
    const ids = () => server.keyport.db('written_batches').whereIn('id', ['old-batch', 'recent-batch']).pluck('id');
    expect(await until(async () => (await ids()).length === 1, 10_000)).toBe(true);
    expect(await ids()).toEqual(['recent-batch']);
  });
});
