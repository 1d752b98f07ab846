import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { startKeyport, startTcpProxy, until, type KeyportProcess, type TcpProxy } from './harness.js';
import { startLoad, summary, usageOwed, type Load } from './load.js';
import { assertHeld, recovered, storedUsage } from './checks.js';
import { DATABASES } from '../helpers/databases.js';

const SERVERS = DATABASES.filter((d) => d.name !== 'sqlite');
const DEFAULT_PORT = { mysql: 3306, postgres: 5432 } as const;

/** A sample of GET /metrics (every worker's, summed by the primary). */
async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : NaN;
}
const unwritten = (url: string) => metric(url, 'keyport_usage_unwritten{buffer="usage"}');
const TIMEOUT_MS = 1000;
// Client side: a request that gets no answer in this long hangs (the setting, twice over, and slack).
const BOUND_MS = 4 * TIMEOUT_MS + 1500;

/**
 * Issue 23, item 4: a MariaDB (or PostgreSQL) that stops answering (a TCP proxy of the test's
 * own in front of the shared server stops forwarding; the server itself is
 * never touched) makes keyport answer 503 with Retry-After within its
 * database timeout, keeps the usage it counted, and recovers by itself.
 */
describe.each(SERVERS)('a frozen database ($name behind a stalled TCP path)', (database) => {
  let proxy: TcpProxy;
  let kp: KeyportProcess;
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await database.create();
    const direct = new URL(created.url);
    proxy = await startTcpProxy({
      host: direct.hostname,
      port: Number(direct.port || DEFAULT_PORT[database.name as keyof typeof DEFAULT_PORT]),
    });
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    kp = await startKeyport({
      databaseUrl: viaProxy.toString(),
      seedUrl: direct.toString(),
      settings: { database_timeout_ms: TIMEOUT_MS, usage_flush_seconds: 0.5 },
    });
    db = createDb(direct.toString());
    drop = async () => {
      await db.destroy();
      await created.drop();
    };
  }, 90_000);

  afterAll(async () => {
    await kp?.stop();
    await proxy?.close();
    await drop?.();
  });

  it('answers 503 with Retry-After within its bound while frozen, loses no usage, and recovers by itself', async () => {
    const load: Load = startLoad(kp, { boundMs: BOUND_MS });
    await until(() => load.tallies.token.ok > 5 && load.tallies.verify.ok > 5, 10_000);
    proxy.pause();
    // Long enough for every request in flight to meet the timeout, and for new ones to be refused.
    await until(() => load.tallies.token.unavailable + load.tallies.verify.unavailable > 10, 3 * BOUND_MS);
    // What was counted and could not be written is kept, and /metrics says how much.
    expect(await until(async () => (await unwritten(kp.url)) > 0, 3 * BOUND_MS)).toBe(true);
    proxy.resume();
    expect(await recovered(load, 20_000)).toBe(true);
    await load.stop();
    console.log(`freeze: ${summary(load.tallies)}`);

    assertHeld(load.tallies);
    expect(load.tallies.token.unavailable + load.tallies.verify.unavailable).toBeGreaterThan(0);
    // Everything counted while frozen is written once the database answers again.
    const owed = usageOwed(load.tallies);
    await until(async () => (await storedUsage(db, kp.clientId)) >= owed, 15_000);
    expect(await storedUsage(db, kp.clientId)).toBe(owed);
    expect(await until(async () => (await unwritten(kp.url)) === 0, 10_000)).toBe(true);
    expect(await metric(kp.url, 'keyport_usage_dropped_total{buffer="usage"}')).toBe(0);
  }, 60_000);
});
