import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, untilAnswers, type RedisServer } from './redis-server.js';

export const MASTER_NAME = 'mymaster';

/**
 * A Redis Sentinel set-up of the test's own on free loopback ports: a
 * primary, one replica (`--replicaof`) and three sentinels (Debian's
 * `redis-sentinel`, quorum 2), each sentinel with its own config file (they
 * rewrite it). `down-after-milliseconds 1000` and `failover-timeout 5000`:
 * a killed primary is replaced within seconds. Never the shared Redis.
 */
export interface RedisSentinels {
  /** `redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/mymaster`: what keyport's REDIS_URL takes. */
  readonly url: string;
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  /** The port the sentinels name as primary now (`SENTINEL get-master-addr-by-name`). */
  masterPort(): Promise<number | undefined>;
  /** A plain client of the server on `port` (closed by the caller). */
  connect(port: number): Redis;
  close(): Promise<void>;
}

/** Polls `check` until it holds (bounded). */
async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startRedisSentinels(): Promise<RedisSentinels> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-sentinel-'));
  const primary = await startRedisServer();
  const replica = await startRedisServer(['--replicaof', '127.0.0.1', String(primary.port)]);
  const connect = (port: number) =>
    new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 1000 });

  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-sentinel', [file], { stdio: 'ignore' });
    children.push(child);
    await untilAnswers(port, child);
    ports.push(port);
    clients.push(connect(port));
  }

  const close = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await replica.close();
    await primary.close();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The replica in sync, and every sentinel knowing the replica and the two others: a failover can reach its quorum.
    const replicaClient = connect(replica.port);
    await until('the replica in sync', async () =>
      /master_link_status:up/.test(await replicaClient.info('replication')),
    );
    replicaClient.disconnect();
    for (const client of clients) {
      await until('the sentinels seeing each other and the replica', async () => {
        const replicas = (await client.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[];
        const sentinels = (await client.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
        return replicas.length === 1 && sentinels.length === 2;
      });
    }
  } catch (err) {
    await close();
    throw err;
  }

  return {
    url: `redis+sentinel://${ports.map((port) => `127.0.0.1:${port}`).join(',')}/${MASTER_NAME}`,
    primary,
    replica,
    async masterPort() {
      // Any sentinel that answers: the primary's sentinels stay up.
      for (const client of clients) {
        const addr = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME).catch(() => null)) as
          [string, string] | null;
        if (addr) return Number(addr[1]);
      }
      return undefined;
    },
    connect,
    close,
  };
}
