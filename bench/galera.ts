/**
 * Issue 25 item 5, the Galera side: `npm run build && npx vite-node bench/galera.ts [seconds]`.
 * Scenarios (a) client_credentials at /token and (e) POST /keys/verify, each
 * run against one keyport on one MariaDB server of its own, then against two
 * keyport processes on two nodes of a three-node Galera cluster of its own
 * (galera-4; free loopback ports; never the shared MariaDB), the load split
 * evenly. Prints req/s, the ratio two-nodes ÷ one-server, and the answers that
 * were not 2xx. Everything runs on this machine: keyport, the databases and
 * the load generator share its cores, so the ratio says what a cluster costs
 * here, not what it gives on separate hosts.
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { startKeyport, startOwnMariadb, type KeyportProcess } from '../test/faults/harness.js';
import { galeraMissing, startGaleraCluster } from '../test/helpers/galera-cluster.js';

interface Result {
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
// autocannon ships no types; the fields read here are its documented result's.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: Record<string, unknown>,
) => Promise<Result>;

const seconds = Number(process.argv[2] ?? 10);
const CONNECTIONS = 16;
const missing = galeraMissing();
if (missing) {
  console.error(`bench/galera: ${missing}`);
  process.exit(2);
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

type Scenario = 'a' | 'e';
const requestOf = (kp: KeyportProcess, scenario: Scenario) =>
  scenario === 'a'
    ? {
        url: `${kp.url}/token`,
        method: 'POST' as const,
        headers: {
          authorization: basic(kp.clientId, kp.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      }
    : {
        url: `${kp.url}/keys/verify`,
        method: 'POST' as const,
        headers: { authorization: basic(kp.rsId, kp.rsSecret), 'content-type': 'application/json' },
        body: JSON.stringify({ key: kp.clientSecret }),
      };

/** Runs the scenario against every instance at once, the connections split evenly; req/s summed. */
async function load(instances: KeyportProcess[], scenario: Scenario) {
  const results = await Promise.all(
    instances.map((kp) =>
      autocannon({
        ...requestOf(kp, scenario),
        connections: CONNECTIONS / instances.length,
        duration: seconds,
      }),
    ),
  );
  return {
    rps: results.reduce((sum, r) => sum + r.requests.average, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
  };
}

const settings = {
  resource_server_rate_limits: [100_000_000, 100_000_000, 100_000_000],
};

const rows: Array<{ scenario: Scenario; one: number; two: number; non2xx: number }> = [];

console.log(`bench/galera: ${seconds} s per run, ${CONNECTIONS} connections, load average ${loadAverage()}`);
const server = await startOwnMariadb();
server.sql('CREATE DATABASE keyport CHARACTER SET utf8mb4');
const single = await startKeyport({ databaseUrl: server.url('keyport'), workers: 1, settings });
const one: Record<Scenario, { rps: number; non2xx: number }> = {
  a: await load([single], 'a'),
  e: await load([single], 'e'),
};
await single.stop();
await server.remove();

const cluster = await startGaleraCluster(3);
cluster.nodes[0]!.sql('CREATE DATABASE keyport CHARACTER SET utf8mb4');
const first = await startKeyport({ databaseUrl: cluster.nodes[0]!.url('keyport'), workers: 1, settings });
const second = await startKeyport({ databaseUrl: cluster.nodes[1]!.url('keyport'), workers: 1, settings });
for (const scenario of ['a', 'e'] as const) {
  const two = await load([first, second], scenario);
  rows.push({ scenario, one: one[scenario].rps, two: two.rps, non2xx: one[scenario].non2xx + two.non2xx });
}
await Promise.all([first.stop(), second.stop()]);
await cluster.remove();

console.log(
  '| scenario | one keyport, one server (req/s) | two keyports, two Galera nodes (req/s) | ratio | not 2xx |',
);
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| (${r.scenario}) | ${r.one.toFixed(0)} | ${r.two.toFixed(0)} | ${(r.two / r.one).toFixed(2)} | ${r.non2xx} |`,
  );
console.log(`load average at the end ${loadAverage()}`);

function loadAverage() {
  return loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');
}
