import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { migrateLatest } from '../../src/persistence/sql/migrate.js';
import { createSqlUsageCounts } from '../../src/persistence/sql/usage-counts.js';
import { createSqlKeyUsage } from '../../src/persistence/sql/key-usage.js';
import { createUsageRecorder } from '../../src/clients/usage.js';
import { createKeyUsage } from '../../src/clients/key-usage.js';
import { ServiceUnavailable } from '../../src/errors.js';
import { DATABASES } from '../helpers/databases.js';
import { startTcpProxy, until, type TcpProxy } from './harness.js';

const TIMEOUT_MS = 500;
const CLIENT = 'svc_lost_answer';

/**
 * A usage flush whose COMMIT was sent and never answered (a stalled network
 * path: the bytes arrive later, or the server committed and its answer was
 * lost) fails for keyport, yet the database may have committed it. Writing
 * the batch again must not count its calls twice: a lost answer is the case
 * that at-least-once writing gets wrong, and a customer's usage (and its
 * credits) would be over-counted after every database stall.
 */
describe.each(DATABASES.filter((d) => d.name !== 'sqlite'))(
  'a usage flush whose COMMIT got no answer, on $name',
  (database) => {
    let drop: () => Promise<void>;
    let direct: Db;
    let viaProxy: Db;
    let proxy: TcpProxy;

    beforeAll(async () => {
      const created = await database.create();
      drop = created.drop;
      direct = createDb(created.url);
      await migrateLatest(direct);
      await direct('teams').insert({ id: 1, name: 'Acme', plan: 'free', created_at: 1_700_000_000 });
      await direct('o_auth_clients').insert({ client_id: CLIENT, team_id: 1, name: 'svc' });
      const url = new URL(created.url);
      proxy = await startTcpProxy({
        host: url.hostname,
        port: Number(url.port || (database.name === 'mysql' ? 3306 : 5432)),
      });
      url.host = `127.0.0.1:${proxy.port}`;
      viaProxy = createDb(url.toString(), { timeoutMs: TIMEOUT_MS });
    }, 60_000);

    afterAll(async () => {
      await proxy?.close();
      await viaProxy?.destroy().catch(() => undefined);
      await direct?.destroy();
      await drop?.();
    });

    /** Holds the next COMMIT, lets `flush` fail on it, then lets the COMMIT through and waits until it has landed. */
    async function commitWithoutAnswer(flush: () => Promise<void>, errors: Error[], landed: () => Promise<boolean>) {
      const held = proxy.holdAt(/\bCOMMIT\b/);
      const flushed = flush();
      await held;
      try {
        await flushed;
      } finally {
        proxy.resume();
      }
      expect(errors.map((e) => (e instanceof ServiceUnavailable ? 'unavailable' : `${e.name}: ${e.message}`))).toEqual([
        'unavailable',
      ]);
      // The server did commit what keyport saw fail.
      expect(await until(landed, 10_000)).toBe(true);
    }

    it('usage_count: the batch written again after a lost COMMIT answer counts once', async () => {
      const errors: Error[] = [];
      const usage = createUsageRecorder(createSqlUsageCounts(viaProxy), {
        flushEveryMs: 3_600_000,
        onError: (err) => errors.push(err),
      });
      const stored = async () =>
        Number(
          (
            (await direct('o_auth_clients').where({ client_id: CLIENT }).first('usage_count')) as {
              usage_count: number;
            }
          ).usage_count,
        );
      for (let i = 0; i < 5; i++) usage.record(CLIENT, 1_800_000_000);
      await commitWithoutAnswer(
        () => usage.flush(),
        errors,
        async () => (await stored()) === 5,
      );
      expect(usage.unwritten).toBe(5);

      usage.record(CLIENT, 1_800_000_001, 2);
      await usage.flush();
      expect(errors).toHaveLength(1);
      expect(await stored()).toBe(7);
      expect(usage.unwritten).toBe(0);
      await usage.close();
    });

    it('key usage by hour: the batch written again after a lost COMMIT answer counts once', async () => {
      const errors: Error[] = [];
      const keyUsage = createKeyUsage(createSqlKeyUsage(viaProxy), {
        flushEveryMs: 3_600_000,
        onError: (err) => errors.push(err),
      });
      const hour = 1_800_003_600;
      const valid = async () =>
        Number(
          (
            (await direct('key_usage_hourly').where({ client_id: CLIENT, hour }).first('valid')) as
              { valid: number } | undefined
          )?.valid ?? 0,
        );
      for (let i = 0; i < 4; i++) keyUsage.record(CLIENT, 'valid', '192.0.2.7', hour + 10);
      await commitWithoutAnswer(
        () => keyUsage.flush(),
        errors,
        async () => (await valid()) === 4,
      );

      keyUsage.record(CLIENT, 'valid', '192.0.2.7', hour + 20);
      await keyUsage.flush();
      expect(errors).toHaveLength(1);
      expect(await valid()).toBe(5);
      const seen = (await direct('key_usage_addresses').where({ client_id: CLIENT }).first('count')) as {
        count: number;
      };
      expect(Number(seen.count)).toBe(5);
      expect(keyUsage.unwritten).toBe(0);
      await keyUsage.close();
    });
  },
);
