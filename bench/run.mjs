// `npm run bench`: keyport against a bare oidc-provider, in one run, with the
// same load generator (autocannon, loopback only, bounded in time) and
// alternating rounds. See BENCHMARKS.md for what each scenario means.
//
//   BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306/keyport_bench npm run bench
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench
//   npm run bench -- --seed            # also: 1,000,000 tokens and 100,000 clients
//   npm run bench -- --cpu-prof        # also: a CPU profile of every keyport process
//   npm run bench -- --only startup    # only the CLI's start-up (node and npx), no server
//
// With a MySQL URL the bench creates databases named after the URL's one
// (suffixes _<pid> and _<pid>_seeded) and drops them at the end; it never
// touches the named database itself. Without it, SQLite files in a temp dir.
import autocannon from 'autocannon';
import { spawn, execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createDb } from '../dist/src/persistence/sql/knex.js';
import { SEED_CLIENTS, SEED_TOKENS, copyFixtures, makeApiKeys, seed } from './data.mjs';
import { summarizeProfiles } from './profile-summary.mjs';
import { aggregate, printTable, summarize } from './report.mjs';
import { benchCli, benchStartup, printCli, printStartup } from './cli.mjs';
import { createCostMeter, printCosts, totalCost } from './cost.mjs';
import { startNginx } from './nginx.mjs';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '5' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '32' },
    workers: { type: 'string', default: process.env.KEYPORT_WORKERS ?? String(availableParallelism()) },
    seed: { type: 'boolean', default: process.env.BENCH_SEED === '1' },
    'cpu-prof': { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
  },
});
const ROUNDS = Number(flags.rounds);
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const WORKERS = Number(flags.workers);
const MANY_CLIENTS = 1000;
const CLI = 'dist/src/cli/main.js';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const execFileP = promisify(execFile);
const log = (line) => process.stderr.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'keyport-bench-'));
const children = new Set();
const cleanups = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- databases

async function createDatabases() {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    return { kind: 'sqlite', urls: { empty: `sqlite:${work}/empty.sqlite`, seeded: `sqlite:${work}/seeded.sqlite` } };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return createPostgresDatabases(url);
  if (!url.startsWith('mysql://')) throw new Error('BENCH_DATABASE_URL must be a mysql:// or postgres:// URL');
  const base = new URL(url);
  const name = base.pathname.slice(1) || 'keyport_bench';
  const server = createDb(Object.assign(new URL(base), { pathname: '/' }).toString());
  const urls = {};
  cleanups.push(() => server.destroy());
  for (const [which, db] of [
    ['empty', `${name}_${process.pid}`],
    ['seeded', `${name}_${process.pid}_seeded`],
  ]) {
    await server.raw(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    cleanups.push(() => server.raw(`DROP DATABASE IF EXISTS \`${db}\``));
    urls[which] = Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  }
  const [[{ version }]] = await server.raw('SELECT VERSION() AS version');
  return { kind: 'mysql', version, urls };
}

/** As for MySQL: two databases named after the URL's, dropped at the end; the named one is never touched. */
async function createPostgresDatabases(url) {
  const base = new URL(url);
  const name = base.pathname.slice(1) || 'keyport_bench';
  const server = createDb(url);
  const urls = {};
  cleanups.push(() => server.destroy());
  for (const [which, db] of [
    ['empty', `${name}_${process.pid}`],
    ['seeded', `${name}_${process.pid}_seeded`],
  ]) {
    await server.raw(`CREATE DATABASE "${db}"`);
    cleanups.push(() => server.raw(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`));
    urls[which] = Object.assign(new URL(base), { pathname: `/${db}` }).toString();
  }
  const {
    rows: [{ version }],
  } = await server.raw('SHOW server_version');
  return { kind: 'postgres', version, urls };
}

// ---------------------------------------------------------------- processes

function startProcess(name, args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  // keyport logs a JSON line per request, as in production: read and drop them.
  if (!name.startsWith('flood')) child.stdout.resume();
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) {
      log(`${name} exited (${signal ?? code}):\n${stderr}`);
      process.exit(1);
    }
  });
  child.stop = () =>
    new Promise((resolve) => {
      child.stopping = true;
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return child;
}

async function waitUntilUp(url) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up in 60 s`);
}

const keyportConf = (extra = {}) => {
  const file = join(work, `conf-${randomUUID()}.json`);
  const huge = [1e9, 1e9, 1e9];
  writeFileSync(
    file,
    JSON.stringify({
      plans: { bench: { api_access: true, max_keys: SEED_CLIENTS + MANY_CLIENTS + 10, rate_limits: huge } },
      resource_server_rate_limits: huge,
      // BENCH_REDIS_URL: keyport keeps its hot state in Redis (issue 18), under a prefix of this run.
      ...(process.env.BENCH_REDIS_URL
        ? { redis_url: process.env.BENCH_REDIS_URL, redis_key_prefix: `bench-${randomUUID()}:` }
        : {}),
      ...extra,
    }),
  );
  return file;
};

async function startKeyport(name, databaseUrl, port, conf) {
  const env = {
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    KEYS_DIR: join(work, 'keys'),
    KEYPORT_CONF: conf,
    KEYPORT_WORKERS: String(WORKERS),
  };
  const args = flags['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profiles', name)}`, CLI, 'serve']
    : [CLI, 'serve'];
  const child = startProcess(name, args, env);
  const url = `http://localhost:${port}`;
  await waitUntilUp(`${url}/.well-known/openid-configuration`);
  const cli = async (...argv) =>
    JSON.parse(
      (await execFileP(process.execPath, [CLI, ...argv, '-json'], { env: { ...process.env, ...env } })).stdout,
    );
  return { name, url, issuer: url, child, cli, databaseUrl };
}

async function startBaseline(port, clients, jwks) {
  const file = join(work, 'baseline-clients.json');
  writeFileSync(file, JSON.stringify({ clients, jwks }));
  const child = startProcess('baseline', ['bench/baseline.mjs'], {
    BASELINE_PORT: String(port),
    BASELINE_CLIENTS: file,
  });
  const url = `http://localhost:${port}`;
  await waitUntilUp(`${url}/.well-known/openid-configuration`);
  return { name: 'baseline', url, issuer: url, child };
}

async function startHello(name, port, env) {
  // With --cpu-prof, the API's own process is profiled too (where the guard's time goes, in (f) and (h)).
  const args = flags['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profiles', 'hello', name)}`, 'bench/hello.mjs']
    : ['bench/hello.mjs'];
  const child = startProcess(name, args, { HELLO_PORT: String(port), ...env });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return { name, url: `http://localhost:${port}`, child };
}

/** Peak resident memory (VmHWM) of a process and its children, in MB. */
function peakRss(pid) {
  const read = (p) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // the process has gone: no children
  }
  return { primary: Math.round(read(pid)), workers: kids.map((k) => Math.round(read(k))) };
}

// ---------------------------------------------------------------- fixtures

const basic = (id, secret) =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

/** The same credentials in both systems: keyport's CLI makes them, the baseline is configured with them. */
async function makeFixtures(keyport) {
  const { team_id } = await keyport.cli('teamadd', '-name', 'bench', '-plan', 'bench');
  const warm = await keyport.cli(
    'serviceaccountadd',
    '-team',
    String(team_id),
    '-name',
    'warm',
    '-scope',
    'api:read api:write',
  );
  const rs = await keyport.cli('resourceserveradd', '-name', 'bench-api');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pemFile = join(work, 'jwt-client.pem');
  writeFileSync(pemFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const jwt = await keyport.cli('serviceaccountadd', '-team', String(team_id), '-name', 'jwt', '-public-key', pemFile);
  // 1,000 clients, each with its own generated key (as keyport makes them), used by (a), (e) and (f).
  const many = await makeApiKeys(keyport.databaseUrl, warm.client_id, MANY_CLIENTS);
  const apiKeys = many.map((c) => c.client_secret);
  return {
    team_id,
    warm,
    rs,
    jwt: { ...jwt, privateKey, publicJwk: publicKey.export({ format: 'jwk' }) },
    many,
    apiKeys,
  };
}

function baselineClients(f) {
  const secretClient = (c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read api:write',
  });
  return [
    secretClient(f.warm),
    ...f.many.map(secretClient),
    { ...secretClient(f.rs), scope: undefined },
    {
      client_id: f.jwt.client_id,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [f.jwt.publicJwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
  ];
}

/** RS256 client assertions for `issuer`, signed before the timed part; one request each. */
function signAssertions(f, issuer, count) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = b64({ alg: 'RS256', typ: 'JWT' });
  const now = Math.floor(Date.now() / 1000);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const payload = b64({
      iss: f.jwt.client_id,
      sub: f.jwt.client_id,
      aud: issuer,
      jti: randomBytes(16).toString('base64url'),
      iat: now,
      exp: now + 240,
    });
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), f.jwt.privateKey).toString('base64url');
    out[i] =
      `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${header}.${payload}.${signature}`;
  }
  return out;
}

async function issueTokens(system, f, count) {
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${system.url}/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(f.warm.client_id, f.warm.client_secret) },
      body: 'grant_type=client_credentials&scope=api%3Aread',
    });
    if (res.status !== 200)
      throw new Error(`${system.name}: token for introspection answered ${res.status} ${await res.text()}`);
    tokens.push((await res.json()).access_token);
  }
  return tokens;
}

// ---------------------------------------------------------------- load

function cycling(list, make) {
  let i = 0;
  return [{ setupRequest: (req) => Object.assign(req, make(list[i++ % list.length])) }];
}

function runLoad(url, spec, duration = DURATION) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}${spec.path}`,
        method: spec.method ?? 'POST',
        connections: CONNECTIONS,
        pipelining: 1,
        duration,
        headers: spec.headers,
        body: spec.body,
        requests: spec.requests?.(),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

/** Warm-up until a whole pass answers 2xx only (bounded), then alternating timed rounds. */
/** Set in main: measures keyport's CPU, queries and Redis commands around its timed rounds. */
let meter;

async function compare(
  label,
  systems,
  specFor,
  { warmupSeconds = 2, warmupBound = 240, during, measured = 'keyport', roundWarmupSeconds = 0 } = {},
) {
  for (const system of systems) {
    const started = Date.now();
    for (;;) {
      const res = await runLoad(system.url, await specFor(system, 'warmup'), warmupSeconds);
      if (res.non2xx + res.errors + res.timeouts === 0) break;
      log(
        `  ${label} · ${system.name} warm-up: ${res['2xx']} answered 2xx, ${res.non2xx} not (${Object.entries(
          res.statusCodeStats ?? {},
        )
          .map(([k, v]) => `${k}: ${v.count}`)
          .join(', ')})`,
      );
      if ((Date.now() - started) / 1000 > warmupBound)
        throw new Error(`${label}: ${system.name} still answers errors after ${warmupBound} s of warm-up`);
    }
    system.warmup = Math.round((Date.now() - started) / 100) / 10;
  }
  const rounds = Object.fromEntries(systems.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const system of systems) {
      const spec = await specFor(system, r);
      if (roundWarmupSeconds) await runLoad(system.url, spec, roundWarmupSeconds);
      const stopDuring = during ? await during(system) : undefined;
      const stopMeter = system.name === measured && meter ? await meter.start() : undefined;
      const res = summarize(await runLoad(system.url, spec));
      if (stopMeter) res.cost = await stopMeter(res.ok);
      if (stopDuring) res.during = await stopDuring();
      rounds[system.name].push(res);
      log(
        `  ${label} · ${system.name} round ${r + 1}: ${res.rps} req/s, p50 ${res.p50_ms} ms, p99 ${res.p99_ms} ms${res.not_ok ? `, ${res.not_ok} not 2xx ${JSON.stringify(res.not_ok_by)}` : ''}`,
      );
    }
  }
  return Object.fromEntries(
    systems.map((s) => [
      s.name,
      {
        ...aggregate(rounds[s.name]),
        warmup_seconds: s.warmup,
        ...(s.name === measured ? { cost: totalCost(rounds[s.name].map((r) => r.cost)) } : {}),
      },
    ]),
  );
}

// ---------------------------------------------------------------- scenarios

const clientCredentials = (id, secret) => ({
  path: '/token',
  headers: { ...FORM, authorization: basic(id, secret) },
  body: 'grant_type=client_credentials&scope=api%3Aread',
});

function scenarios(f) {
  const assertionPools = new Map();
  const tokens = new Map();
  return {
    a1: {
      title: '(a) client_credentials, client_secret_basic, one warm client',
      spec: () => clientCredentials(f.warm.client_id, f.warm.client_secret),
    },
    a1000: {
      title: `(a) client_credentials, ${MANY_CLIENTS} distinct clients`,
      spec: () => ({
        path: '/token',
        headers: FORM,
        body: 'grant_type=client_credentials&scope=api%3Aread',
        requests: () =>
          cycling(f.many, (c) => ({ headers: { ...FORM, authorization: basic(c.client_id, c.client_secret) } })),
      }),
      options: { warmupSeconds: 5 },
    },
    b: {
      title: '(b) private_key_jwt, a fresh RS256 assertion per request',
      spec: (system, round) => {
        // Enough assertions for the round at 1.5x the best rate seen so far; signed now, before the timed part.
        const seen = assertionPools.get(system.name) ?? 4000;
        const count = Math.ceil(seen * DURATION * 1.5) + 500;
        const bodies = signAssertions(f, system.issuer, round === 'warmup' ? Math.ceil(seen * 2 * 1.5) : count);
        let i = 0;
        return {
          path: '/token',
          headers: FORM,
          requests: () => [{ setupRequest: (req) => Object.assign(req, { body: bodies[i++] ?? bodies[0] }) }],
        };
      },
      after: (system, result) => assertionPools.set(system.name, Math.max(...result.rounds.map((r) => r.rps))),
    },
    c: {
      title: '(c) introspection by a resource server',
      spec: async (system) => {
        if (!tokens.has(system.name)) tokens.set(system.name, await issueTokens(system, f, 100));
        const list = tokens.get(system.name);
        return {
          path: '/token/introspection',
          headers: { ...FORM, authorization: basic(f.rs.client_id, f.rs.client_secret) },
          requests: () => cycling(list, (t) => ({ body: `token=${t}` })),
        };
      },
    },
    e: {
      title: `(e) keyport /keys/verify of ${MANY_CLIENTS} distinct API keys vs the baseline's introspection of ${MANY_CLIENTS} tokens`,
      spec: async (system) => {
        const auth = { authorization: basic(f.rs.client_id, f.rs.client_secret) };
        if (system.name === 'keyport') {
          const json = { ...auth, 'content-type': 'application/json' };
          return {
            path: '/keys/verify',
            headers: json,
            requests: () => cycling(f.apiKeys, (key) => ({ body: JSON.stringify({ key }) })),
          };
        }
        if (!tokens.has(`${system.name}-1000`))
          tokens.set(`${system.name}-1000`, await issueTokens(system, f, MANY_CLIENTS));
        return {
          path: '/token/introspection',
          headers: { ...FORM, ...auth },
          requests: () => cycling(tokens.get(`${system.name}-1000`), (t) => ({ body: `token=${t}` })),
        };
      },
      options: { warmupSeconds: 3 },
    },
    d: {
      title: '(d) = (a) one warm client, while 127.0.0.2 floods wrong secrets',
      spec: () => clientCredentials(f.warm.client_id, f.warm.client_secret),
      options: {
        during: async (system) => {
          const flood = startProcess('flood', ['bench/flood.mjs'], {
            FLOOD_URL: `${system.url.replace('localhost', '127.0.0.1')}/token`,
            FLOOD_CLIENT_IDS: f.many.map((c) => c.client_id).join(','),
          });
          await new Promise((resolve) => flood.stdout.once('data', resolve));
          return async () => {
            let out = '';
            flood.stdout.on('data', (chunk) => (out += chunk));
            await flood.stop();
            return { flood_statuses: JSON.parse(out.trim().split('\n').pop() || '{}') };
          };
        },
      },
    },
  };
}

// ---------------------------------------------------------------- main

/** Scenarios that start no server: the CLI's start-up. */
const PROCESS_ONLY = ['cli', 'startup'];

function startupOnly() {
  const cli = flags.only.split(',').includes('cli') ? benchCli() : undefined;
  const startup = flags.only.split(',').includes('startup') ? benchStartup() : undefined;
  if (cli) printCli(cli);
  if (startup) printStartup(startup);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    flags.out,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cli, startup }, null, 2),
  );
  console.log(`\nresults: ${flags.out}`);
}

async function main() {
  if (flags.only && flags.only.split(',').every((name) => PROCESS_ONLY.includes(name))) return startupOnly();
  const databases = await createDatabases();
  log(
    `keyport bench: ${databases.kind}${databases.version ? ` ${databases.version}` : ''}${process.env.BENCH_REDIS_URL ? ' + Redis' : ''}, ${WORKERS} keyport workers, ${ROUNDS} rounds of ${DURATION} s, ${CONNECTIONS} connections`,
  );

  const keyport = await startKeyport('keyport', databases.urls.empty, 4801, keyportConf());
  const meterDb = createDb(databases.urls.empty);
  meter = createCostMeter({ keyportPid: keyport.child.pid, db: meterDb, redisUrl: process.env.BENCH_REDIS_URL });
  const f = await makeFixtures(keyport);
  const baseline = await startBaseline(
    4800,
    baselineClients(f),
    JSON.parse(readFileSync(join(work, 'keys', 'signing-keys.json'), 'utf8')),
  );
  const systems = [keyport, baseline];
  const all = scenarios(f);
  const chosen = flags.only
    ? flags.only.split(',').filter((name) => !PROCESS_ONLY.includes(name) && !['f', 'g', 'h'].includes(name))
    : Object.keys(all);

  const results = [];
  for (const name of chosen) {
    const scenario = all[name];
    log(`${scenario.title}`);
    const result = await compare(name, systems, scenario.spec, scenario.options);
    scenario.after?.(keyport, result.keyport);
    scenario.after?.(baseline, result.baseline);
    results.push({
      name,
      title: scenario.title,
      result,
      ratio: result.keyport.rps / result.baseline.rps,
      cost: result.keyport.cost,
    });
  }

  /** keyport's answers by route so far (its /metrics), summed over methods and statuses. */
  const keyportRequests = async () => {
    const by = {};
    const text = await (await fetch(`${keyport.url}/metrics`)).text();
    for (const m of text.matchAll(/keyport_http_requests_total\{([^}]*)\} (\d+)/g)) {
      const route = /route="([^"]*)"/.exec(m[1])?.[1] ?? '?';
      by[route] = (by[route] ?? 0) + Number(m[2]);
    }
    return by;
  };
  /** A `during` for compare(): keyport's answers by route while the guarded system's round ran. */
  const countKeyport = (measured) => async (system) => {
    if (system.name !== measured) return undefined;
    const before = await keyportRequests();
    return async () => {
      const after = await keyportRequests();
      return Object.fromEntries(
        Object.entries(after)
          .map(([route, n]) => [route, n - (before[route] ?? 0)])
          .filter(([route, n]) => n > 0 && route !== '/metrics'),
      );
    };
  };
  /**
   * compare() for the guard scenarios: leases end while the other system's round runs, so each
   * round follows unmeasured load, as the first does the warm-up (busy keys, in steady use); and
   * what keyport answered per 1,000 calls of the last round (round trips, usage reports) is logged.
   */
  const compareGuarded = async (label, pair, spec, measured) => {
    const result = await compare(label, pair, spec, {
      warmupSeconds: 3,
      roundWarmupSeconds: 3,
      measured,
      during: countKeyport(measured),
    });
    const round = result[measured].rounds.at(-1);
    const per = (n) => ((1000 * n) / Math.max(1, round.ok)).toFixed(1);
    const routes = Object.entries(round.during ?? {}).map(([route, n]) => `${route} ${per(n)}`);
    log(`  ${label} · keyport's answers per 1,000 calls (last round): ${routes.join(', ') || 'none'}`);
    return result;
  };

  if (!flags.only || flags.only.split(',').includes('f')) {
    const hello = (name, port, guarded) =>
      startHello(
        name,
        port,
        guarded
          ? {
              HELLO_GUARD: '1',
              KEYPORT_ISSUER: keyport.url,
              KEYPORT_CLIENT_ID: f.rs.client_id,
              KEYPORT_CLIENT_SECRET: f.rs.client_secret,
            }
          : {},
      );
    const pair = [await hello('guarded', 4803, true), await hello('bare', 4804, false)];
    const title = `(f) hello endpoint behind @keyport/guard (${MANY_CLIENTS} distinct keys) vs the same endpoint bare`;
    log(title);
    const spec = () => ({
      path: '/hello',
      method: 'GET',
      requests: () => cycling(f.apiKeys, (key) => ({ headers: { 'x-api-key': key } })),
    });
    const result = await compareGuarded('f', pair, spec, 'guarded');
    results.push({
      name: 'f',
      title,
      result: { keyport: result.guarded, baseline: result.bare },
      ratio: result.guarded.rps / result.bare.rps,
      cost: result.guarded.cost,
    });
    await Promise.all(pair.map((s) => s.child.stop()));
  }

  if (!flags.only || flags.only.split(',').includes('g')) {
    // One hello API (bare) behind two nginx: one with the gateway check behind auth_request
    // (docs/gateway.md's configuration), one with no check. The check is `keyport-guard serve`.
    const hello = await startHello('hello-g', 4811, {});
    const check = startProcess(
      'gateway-check',
      ['packages/guard/bin/keyport-guard.js', 'serve', '--issuer', keyport.url, '--listen', '127.0.0.1:4812'],
      { KEYPORT_CLIENT_ID: f.rs.client_id, KEYPORT_CLIENT_SECRET: f.rs.client_secret },
    );
    await new Promise((resolve) => check.stdout.once('data', resolve));
    const checked = await startNginx(work, { listen: 4813, api: 4811, check: 4812 });
    const bare = await startNginx(work, { listen: 4814, api: 4811 });
    const pair = [
      { name: 'checked', url: checked.url, child: check },
      { name: 'bare', url: bare.url },
    ];
    const title = `(g) hello behind nginx with the gateway check (auth_request, ${MANY_CLIENTS} distinct keys) vs the same nginx and hello with no check`;
    log(title);
    const spec = () => ({
      path: '/hello',
      method: 'GET',
      requests: () => cycling(f.apiKeys, (key) => ({ headers: { 'x-api-key': key } })),
    });
    const result = await compareGuarded('g', pair, spec, 'checked');
    // Where (g)'s time goes: the check called straight, as nginx calls it, with no nginx in front.
    const alone = summarize(
      await runLoad('http://127.0.0.1:4812', {
        ...spec(),
        headers: { 'x-original-uri': '/hello', 'x-keyport-proxy': 'nginx' },
      }),
    );
    log(`  g · the check alone: ${alone.rps} req/s, p50 ${alone.p50_ms} ms, p99 ${alone.p99_ms} ms`);
    results.push({
      name: 'g',
      title,
      result: { keyport: result.checked, baseline: result.bare },
      ratio: result.checked.rps / result.bare.rps,
      cost: result.checked.cost,
    });
    await Promise.all([checked.child.stop(), bare.child.stop(), check.stop(), hello.child.stop()]);
  }
  if (!flags.only || flags.only.split(',').includes('h')) {
    // (h): JWT access tokens (issue 27 item 2) of a resource server that chose them, checked at the
    // guard with keyport's JWKS; 100 distinct tokens, each confirmed by keyport once.
    const jwtRs = await keyport.cli('resourceserveradd', '-name', 'bench-jwt-api', '-jwt');
    const tokens = [];
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${keyport.url}/token`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(f.warm.client_id, f.warm.client_secret) },
        body: `grant_type=client_credentials&scope=api:read&resource=${encodeURIComponent(jwtRs.resource)}`,
      });
      const { access_token: token } = await res.json();
      if (!res.ok || token.split('.').length !== 3) throw new Error(`(h): no JWT access token (${res.status})`);
      tokens.push(token);
    }
    const pair = [
      await startHello('jwt', 4805, {
        HELLO_GUARD: '1',
        HELLO_JWT: '1',
        KEYPORT_ISSUER: keyport.url,
        KEYPORT_CLIENT_ID: jwtRs.client_id,
        KEYPORT_CLIENT_SECRET: jwtRs.client_secret,
      }),
      await startHello('bare', 4806, {}),
    ];
    const title =
      '(h) hello endpoint behind @keyport/guard with JWT access tokens (100 tokens) vs the same endpoint bare';
    log(title);
    const spec = () => ({
      path: '/hello',
      method: 'GET',
      requests: () => cycling(tokens, (token) => ({ headers: { authorization: `Bearer ${token}` } })),
    });
    const result = await compareGuarded('h', pair, spec, 'jwt');
    results.push({
      name: 'h',
      title,
      result: { keyport: result.jwt, baseline: result.bare },
      ratio: result.jwt.rps / result.bare.rps,
      cost: result.jwt.cost,
    });
    await Promise.all(pair.map((s) => s.child.stop()));
  }
  let seeded;
  if (flags.seed) {
    const seededKeyport = await startKeyport(
      'seeded',
      databases.urls.seeded,
      4802,
      keyportConf({ expired_rows_sweep_seconds: 1 }),
    );
    // Same credentials as the empty database's: copy the fixtures' rows over.
    await copyFixtures(databases.urls.empty, databases.urls.seeded);
    log('seeding 100,000 clients and 1,000,000 tokens…');
    await fetch(`${seededKeyport.url}/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(f.warm.client_id, f.warm.client_secret) },
      body: 'grant_type=client_credentials',
    });
    const seedSeconds = await seed(databases.urls.seeded, f);
    log(`seeded in ${seedSeconds} s`);
    const pair = [seededKeyport, { ...keyport, name: 'empty' }];
    const fresh = scenarios(f);
    const rows = [];
    for (const name of ['a1', 'c']) {
      log(`seeded vs empty: ${fresh[name].title}`);
      const result = await compare(`${name} seeded`, pair, fresh[name].spec);
      rows.push({ name, title: fresh[name].title, result, ratio: result.seeded.rps / result.empty.rps });
    }
    const db = createDb(databases.urls.seeded);
    const [{ n: tokenRows }] = await db('oidc_payloads').count({ n: '*' });
    await db.destroy();
    seeded = {
      seed_seconds: seedSeconds,
      token_rows_at_end: Number(tokenRows),
      results: rows,
      peak_rss_mb: peakRss(seededKeyport.child.pid),
    };
    await seededKeyport.child.stop();
  }

  const rss = peakRss(keyport.child.pid);
  await Promise.all(systems.map((s) => s.child.stop()));
  for (const cleanup of cleanups.reverse()) await cleanup();

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    oidc_provider: JSON.parse(readFileSync('node_modules/oidc-provider/package.json', 'utf8')).version,
    keyport: JSON.parse(readFileSync('package.json', 'utf8')).version,
    cpu: `${cpus().length} × ${cpus()[0]?.model}`,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    database:
      databases.kind === 'mysql'
        ? `MySQL protocol, ${databases.version}`
        : databases.kind === 'postgres'
          ? `PostgreSQL ${databases.version}`
          : 'SQLite (better-sqlite3)',
    keyport_workers: WORKERS,
    rounds: ROUNDS,
    duration_seconds: DURATION,
    connections: CONNECTIONS,
  };

  console.log(
    `\nkeyport ${meta.keyport} vs bare oidc-provider ${meta.oidc_provider} · ${meta.database} · ${meta.cpu} · node ${meta.node}`,
  );
  console.log(
    `${WORKERS} keyport workers; baseline: 1 process, in-memory adapter, plaintext secrets; medians of ${ROUNDS} alternating rounds of ${DURATION} s, ${CONNECTIONS} connections\n`,
  );
  printTable(results, ['keyport', 'baseline']);
  printCosts(results);
  await meter.close();
  await meterDb.destroy();
  const a1 = results.find((r) => r.name === 'a1');
  const d = results.find((r) => r.name === 'd');
  if (a1 && d) {
    console.log(
      `\n(d) legitimate throughput kept under the flood: keyport ${(d.result.keyport.rps / a1.result.keyport.rps).toFixed(2)} of its (a), baseline ${(d.result.baseline.rps / a1.result.baseline.rps).toFixed(2)} of its (a)`,
    );
    console.log(
      `    flood answers (keyport, last round): ${JSON.stringify(d.result.keyport.rounds.at(-1).during?.flood_statuses)}`,
    );
  }
  const warm = results.find((r) => r.name === 'a1000')?.result.keyport.warmup_seconds;
  if (warm !== undefined)
    console.log(
      `(a) ${MANY_CLIENTS} clients: keyport's warm-up took ${warm} s (their generated keys are proven by digest: no bcrypt check)`,
    );
  if (seeded) {
    console.log(
      `\nwith ${SEED_TOKENS.toLocaleString('en')} token rows (a fifth expired, swept during the run) and ${SEED_CLIENTS.toLocaleString('en')} clients, against an empty database:\n`,
    );
    printTable(seeded.results, ['seeded', 'empty']);
    console.log(
      `token rows left at the end: ${seeded.token_rows_at_end.toLocaleString('en')}; peak RSS (MB) of the seeded server: ${JSON.stringify(seeded.peak_rss_mb)}`,
    );
  }
  console.log(`\npeak RSS (MB): keyport ${JSON.stringify(rss)}`);
  const failures = results
    .filter((r) => r.name !== 'd')
    .flatMap((r) =>
      Object.entries(r.result)
        .filter(([, v]) => v.not_ok > 0)
        .map(([s, v]) => `${r.name}/${s}: ${v.not_ok} answers were not 2xx`),
    );
  for (const line of failures) console.log(`WARNING ${line}`);

  let profile;
  if (flags['cpu-prof']) {
    profile = summarizeProfiles(join(work, 'profiles', 'keyport'));
    console.log(`\nwhere keyport's CPU time went (self time, all processes, whole run):\n${profile.text}`);
    mkdirSync('bench/results/profiles', { recursive: true });
    for (const file of readdirSync(join(work, 'profiles', 'keyport')))
      writeFileSync(`bench/results/profiles/${file}`, readFileSync(join(work, 'profiles', 'keyport', file)));
    const apis = join(work, 'profiles', 'hello');
    for (const name of existsSync(apis) ? readdirSync(apis) : []) {
      const api = summarizeProfiles(join(apis, name));
      console.log(`\nwhere the API "${name}" spent its CPU time (self time, whole run):\n${api.text}`);
      for (const file of readdirSync(join(apis, name)))
        writeFileSync(`bench/results/profiles/${name}-${file}`, readFileSync(join(apis, name, file)));
    }
  }

  const cli = !flags.only || flags.only.split(',').includes('cli') ? benchCli() : undefined;
  if (cli) printCli(cli);
  const startup = !flags.only || flags.only.split(',').includes('startup') ? benchStartup() : undefined;
  if (startup) printStartup(startup);

  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    flags.out,
    JSON.stringify({ meta, results, seeded, peak_rss_mb: rss, profile: profile?.top, cli, startup }, null, 2),
  );
  console.log(`\nresults: ${flags.out}`);
}

main().catch(async (err) => {
  log(`bench failed: ${String(err.stack ?? err).slice(0, 2000)}`);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  process.exit(1);
});
