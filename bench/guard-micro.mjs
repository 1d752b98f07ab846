// The guard's own cost per call, in-process and without HTTP in front: `guard.check` of
// calls carrying 1,000 keys in turn, once their leases are held (what (f) measures, minus the
// hello server and the load generator). Prints microseconds per call and the round trips made.
//   npm run build && node bench/guard-micro.mjs
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { keyportGuard } from '@keyport/guard';
import { makeApiKeys } from './data.mjs';

const run = promisify(execFile);
const CLI = 'dist/src/cli/main.js';
const PORT = 4890;
const KEYS = 1000;
const work = mkdtempSync(join(tmpdir(), 'keyport-guard-micro-'));
const conf = join(work, 'conf.json');
const huge = [1e9, 1e9, 1e9];
writeFileSync(
  conf,
  JSON.stringify({
    plans: { bench: { api_access: true, max_keys: KEYS + 10, rate_limits: huge } },
    resource_server_rate_limits: huge,
  }),
);
const env = {
  ...process.env,
  PORT: String(PORT),
  DATABASE_URL: `sqlite:${join(work, 'k.sqlite')}`,
  KEYS_DIR: join(work, 'keys'),
  KEYPORT_CONF: conf,
  KEYPORT_WORKERS: '1',
};
const cli = async (...argv) => JSON.parse((await run(process.execPath, [CLI, ...argv, '-json'], { env })).stdout);

// MICRO_CPU_PROF=DIR: keyport's processes write a CPU profile there (node --cpu-prof).
const profile = process.env.MICRO_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MICRO_CPU_PROF}`] : [];
const server = spawn(process.execPath, [...profile, CLI, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });

/** CPU time (ms) of keyport's processes so far: the primary and its workers, from /proc. */
function keyportCpuMs() {
  const ticks = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  let sum = ticks(server.pid);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(server.pid))
        sum += ticks(pid);
    } catch {
      // ended meanwhile
    }
  }
  return sum * 10; // USER_HZ is 100 on Linux
}
const issuer = `http://localhost:${PORT}`;
for (let i = 0; ; i++) {
  if (
    await fetch(`${issuer}/.well-known/openid-configuration`).then(
      (r) => r.ok,
      () => false,
    )
  )
    break;
  if (i > 600) throw new Error('keyport did not start');
  await new Promise((r) => setTimeout(r, 100));
}
try {
  const { team_id } = await cli('teamadd', '-name', 'micro', '-plan', 'bench');
  const warm = await cli('serviceaccountadd', '-team', String(team_id), '-name', 'warm', '-scope', 'api:read');
  const rs = await cli('resourceserveradd', '-name', 'micro-api');
  const keys = (await makeApiKeys(env.DATABASE_URL, warm.client_id, KEYS)).map((k) => k.client_secret);
  const guard = keyportGuard({ issuer, clientId: rs.client_id, clientSecret: rs.client_secret });
  const call = (key) => ({
    rawHeaders: ['Host', 'localhost', 'x-api-key', key, 'Accept', '*/*'],
    url: '/hello',
    ip: '127.0.0.1',
  });
  // Warm up for 10 s: a key is leased from its second call on, and early calls are round trips (slow).
  const until = Date.now() + 10_000;
  for (let n = 0; Date.now() < until; n++) {
    if (n % 32 === 0) await new Promise(setImmediate);
    const verdict = await guard.check(call(keys[n % KEYS]));
    if (verdict.status !== 200) throw new Error(`warm-up answered ${verdict.status}`);
  }
  const verified = async () => {
    const metrics = await (await fetch(`${issuer}/metrics`)).text();
    return [...metrics.matchAll(/keyport_http_requests_total\{route="\/keys\/verify"[^}]*\} (\d+)/g)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };
  const calls = 300_000;
  const verifiedBefore = await verified();
  const before = process.cpuUsage();
  const keyportBefore = keyportCpuMs();
  const start = process.hrtime.bigint();
  for (let n = 0; n < calls; n++) {
    // A server's requests are macrotasks: the event stream's beats are read between them. A loop of
    // awaits alone would starve them, the guard would stop trusting its leases, and ask keyport.
    if (n % 32 === 0) await new Promise(setImmediate);
    const verdict = await guard.check(call(keys[n % KEYS]));
    if (verdict.status !== 200) throw new Error(`answered ${verdict.status}`);
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e3;
  const cpu = process.cpuUsage(before);
  const keyportMs = keyportCpuMs() - keyportBefore;
  const trips = (await verified()) - verifiedBefore - 1;
  console.log(
    `guard.check, ${KEYS} keys in turn: ${(wall / calls).toFixed(2)} µs per call (wall), ` +
      `${((cpu.user + cpu.system) / calls).toFixed(2)} µs of CPU; ${trips} round trips to /keys/verify in ${calls} calls ` +
      `(${((100 * trips) / calls).toFixed(1)} %); keyport: ${((keyportMs * 1000) / calls).toFixed(2)} µs of CPU per call, ` +
      `${((keyportMs * 1000) / Math.max(1, trips)).toFixed(0)} µs per round trip`,
  );
  // keyport's own CPU per second with the guard connected and quiet, then with calls at the
  // rate (f) reaches (about 25,000 a second over the 1,000 keys): what the leases cost keyport.
  const perSecond = async (rate) => {
    const cpu0 = keyportCpuMs();
    const trips0 = await verified();
    const t0 = Date.now();
    for (let n = 0; Date.now() - t0 < 5000;) {
      const due = ((Date.now() - t0) * rate) / 1000;
      for (; n < due; n++) {
        const verdict = await guard.check(call(keys[n % KEYS]));
        if (verdict.status !== 200) throw new Error(`answered ${verdict.status}`);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const seconds = (Date.now() - t0) / 1000;
    return { cpu: (keyportCpuMs() - cpu0) / seconds, trips: ((await verified()) - trips0 - 1) / seconds };
  };
  const idle = await perSecond(0);
  const busy = await perSecond(25_000);
  console.log(
    `keyport's CPU, guard connected and quiet: ${idle.cpu.toFixed(0)} ms a second; at 25,000 calls a second: ` +
      `${busy.cpu.toFixed(0)} ms a second, ${busy.trips.toFixed(0)} round trips a second ` +
      `(${((1000 * (busy.cpu - idle.cpu)) / Math.max(1, busy.trips)).toFixed(0)} µs each beyond the quiet cost)`,
  );
  await guard.close();
} finally {
  server.kill('SIGTERM');
}
