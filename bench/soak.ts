/**
 * The fault suite's soak: `npx vite-node bench/soak.ts [minutes]` (default 10).
 * A keyport with two workers on a MariaDB of its own (behind a TCP proxy of
 * its own), under the fault suite's mixed load, with one fault a minute in
 * turn: the database frozen 5 s, stopped by SIGTERM, killed by SIGKILL (each
 * started again), a worker killed by SIGKILL. Prints the counts and whether
 * the stored usage matches the successful answers.
 */
import { createDb } from '../src/persistence/sql/knex.js';
import { startKeyport, startOwnMariadb, startTcpProxy, until } from '../test/faults/harness.js';
import { startLoad, usageOwed, type Kind } from '../test/faults/load.js';

const minutes = Number(process.argv[2] ?? 10);
const TIMEOUT_MS = 1000;
const mariadb = await startOwnMariadb();
mariadb.sql('CREATE DATABASE keyport CHARACTER SET utf8mb4');
const proxy = await startTcpProxy({ host: '127.0.0.1', port: mariadb.port });
const kp = await startKeyport({
  databaseUrl: `mysql://root@127.0.0.1:${proxy.port}/keyport`,
  seedUrl: mariadb.url('keyport'),
  settings: {
    database_timeout_ms: TIMEOUT_MS,
    usage_flush_seconds: 1,
    // The load's one resource server verifies ~5,000 times a minute: above the default 6,000 a
    // minute in bursts, its own budget (issue 23 item 15 e) would answer 429 and hide the faults.
    resource_server_rate_limits: [600_000, 20_000_000, 200_000_000],
  },
});
const load = startLoad(kp, { loops: 4, boundMs: 4 * TIMEOUT_MS + 1500 });
const faults: Array<[string, () => Promise<void>]> = [
  [
    'freeze 5 s',
    async () => {
      proxy.pause();
      await new Promise((r) => setTimeout(r, 5000));
      proxy.resume();
    },
  ],
  [
    'SIGTERM MariaDB',
    async () => {
      await mariadb.stop('SIGTERM');
      await mariadb.start();
    },
  ],
  [
    'SIGKILL MariaDB',
    async () => {
      await mariadb.stop('SIGKILL');
      await mariadb.start();
    },
  ],
  [
    'SIGKILL a worker',
    async () => {
      const [pid] = kp.workerPids();
      if (pid) process.kill(pid, 'SIGKILL');
      await until(() => kp.workerPids().length === 2, 15_000);
    },
  ],
];
const started = Date.now();
const log: string[] = [];
let lostToKills = 0;
for (let minute = 0; minute < minutes; minute++) {
  await new Promise((r) => setTimeout(r, Math.max(0, started + minute * 60_000 + 30_000 - Date.now())));
  const [name, fault] = faults[minute % faults.length]!;
  const at = Date.now();
  await fault();
  const over = Date.now();
  if (name.includes('worker')) lostToKills += load.usesAt.filter((t) => t > at - 2500 && t <= at).length;
  const served = () => load.tallies.token.ok + load.tallies.verify.ok;
  const before = served();
  const back = await until(() => served() > before + 10, 60_000);
  log.push(
    `minute ${minute + 1}: ${name} (${over - at} ms), ${back ? 'serving again' : 'NOT serving'} ${Date.now() - over} ms after`,
  );
  console.log(log.at(-1));
}
await new Promise((r) => setTimeout(r, Math.max(0, started + minutes * 60_000 - Date.now())));
await load.stop();
await kp.stop();
const db = createDb(mariadb.url('keyport'));
const row = (await db('o_auth_clients').where({ client_id: kp.clientId }).first('usage_count')) as {
  usage_count: number;
};
await db.destroy();
await proxy.close();
await mariadb.remove();

const owed = usageOwed(load.tallies);
console.log(`\nsoak: ${minutes} min, one fault a minute (${faults.map(([n]) => n).join(', ')})`);
console.log('| request | 2xx (ok) | 503 + Retry-After | hung | reset (worker killed) | wrong | let through |');
console.log('|---|---|---|---|---|---|---|');
for (const [kind, t] of Object.entries(load.tallies) as Array<[Kind, (typeof load.tallies)[Kind]]>)
  console.log(
    `| ${kind} | ${t.ok} | ${t.unavailable} | ${t.hung} | ${t.dropped} | ${t.wrong.length} | ${t.letThrough} |`,
  );
console.log(
  `usage: ${owed} uses answered 2xx, ${Number(row.usage_count)} stored (${owed - Number(row.usage_count)} short;` +
    ` at most ${lostToKills} answered in the last flush interval before a worker kill)`,
);
for (const [kind, t] of Object.entries(load.tallies)) if (t.wrong.length) console.log(kind, t.wrong.slice(0, 3));
process.exit(0);
