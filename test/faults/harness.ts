import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, freePort, runCli } from '../helpers/cli.js';

/** Polls `check` every 100 ms until it is true or `ms` have passed; says which. */
export async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A TCP proxy of the test's own in front of a database: `pause()` stops
 * forwarding in both directions (bytes wait, as in a frozen server or a
 * stalled network path; new connections are accepted and held), `resume()`
 * sends what waited and carries on. The shared server behind it is never touched.
 */
export interface TcpProxy {
  readonly port: number;
  pause(): void;
  /**
   * Pauses as the next chunk from a client that matches `pattern` (as latin1
   * text) arrives, before it is forwarded: the statement is sent and its
   * answer never comes, until `resume()` delivers it. Resolves once held.
   */
  holdAt(pattern: RegExp): Promise<void>;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let paused = false;
  const waiting: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const later = (action: () => void) => (paused ? waiting.push(action) : action());
  let hold: { pattern: RegExp; held: () => void } | undefined;

  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = createConnection(target);
    sockets.add(upstream);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (hold && from === client && hold.pattern.test(chunk.toString('latin1'))) {
          paused = true;
          hold.held();
          hold = undefined;
        }
        later(() => to.write(chunk));
      });
      from.on('end', () => later(() => to.end()));
      from.on('error', () => later(() => to.destroy()));
      from.on('close', () => {
        sockets.delete(from);
        later(() => to.destroy());
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    pause() {
      paused = true;
    },
    holdAt(pattern) {
      return new Promise<void>((held) => (hold = { pattern, held }));
    },
    resume() {
      paused = false;
      for (const action of waiting.splice(0)) action();
    },
    async close() {
      paused = false;
      waiting.length = 0;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * A MariaDB server of the test's own: a fresh data directory, a free port,
 * no grant tables (root without a password). `stop(signal)` and `start()`
 * keep the same port and data, so keyport's URL stays valid across a restart.
 */
export interface OwnMariadb {
  readonly port: number;
  /** `mysql://root@127.0.0.1:PORT/DB` */
  url(database: string): string;
  start(): Promise<void>;
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  sql(statement: string): string;
  remove(): Promise<void>;
}

export async function startOwnMariadb(): Promise<OwnMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-mariadb-'));
  const datadir = join(dir, 'data');
  const install = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--user=root',
    ],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const sql = (statement: string) => {
    const run = spawnSync('mariadb', ['-uroot', '-h127.0.0.1', `-P${port}`, '-N', '-B', '-e', statement], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`mariadb: ${run.stderr}`);
    return run.stdout.trim();
  };
  const answers = () => {
    try {
      sql('SELECT 1');
      return true;
    } catch {
      return false;
    }
  };
  const own: OwnMariadb = {
    port,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    async start() {
      child = spawn(
        'mariadbd',
        [
          '--no-defaults',
          `--datadir=${datadir}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${join(dir, 'sock')}`,
          `--pid-file=${join(dir, 'pid')}`,
          `--log-error=${join(dir, 'error.log')}`,
          '--user=root',
          '--skip-grant-tables',
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
        ],
        { stdio: 'ignore' },
      );
      if (!(await until(answers, 30_000))) throw new Error(`own mariadbd did not start: ${readLog(dir)}`);
    },
    async stop(signal) {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill(signal);
      await exited;
    },
    sql,
    async remove() {
      await own.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

/** A keyport started as an operator would (`node dist/src/cli/main.js serve`), with its credentials seeded. */
export interface KeyportProcess {
  readonly url: string;
  readonly process: ChildProcess;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly rsId: string;
  readonly rsSecret: string;
  readonly teamId: number;
  /** A second service account the load sends wrong secrets for (its failure throttle is its own). */
  readonly decoyId: string;
  /** The operator's token for the admin API. */
  readonly adminToken: string;
  /** The pids of its workers (children of the primary), as the system lists them now. */
  workerPids(): number[];
  stop(): Promise<void>;
}

const ADMIN_TOKEN = 'fault-suite-operator-token-0123456789abcdef';

/** A plan with budgets the load never reaches: the suite checks failures, not rate limits. */
const LOAD_PLAN = { api_access: true, max_keys: 100, rate_limits: [1_000_000, 1_000_000, 1_000_000] };

export async function startKeyport({
  databaseUrl,
  seedUrl = databaseUrl,
  workers = 2,
  settings = {},
}: {
  /** What keyport is given (through the proxy, or the own server). */
  databaseUrl: string;
  /** Where the credentials are created (straight to the database). */
  seedUrl?: string;
  workers?: number;
  settings?: Record<string, unknown>;
}): Promise<KeyportProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-fault-'));
  const port = await freePort();
  const conf = join(dir, 'keyport.json');
  writeFileSync(conf, JSON.stringify({ plans: { free: LOAD_PLAN, load: LOAD_PLAN }, ...settings }));
  mkdirSync(join(dir, 'keys'));
  const env = {
    ...process.env,
    PORT: String(port),
    ISSUER: `http://127.0.0.1:${port}`,
    KEYPORT_WORKERS: String(workers),
    KEYPORT_CONF: conf,
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: 'silent',
    KEYPORT_ADMIN_TOKEN: ADMIN_TOKEN,
  };
  const cli = async (...args: string[]) => {
    const out = await runCli({ ...env, DATABASE_URL: seedUrl }, ...args, '-json');
    if (out.code !== 0) throw new Error(`keyport ${args[0]} failed: ${out.stderr}${out.stdout}`);
    return JSON.parse(out.stdout) as Record<string, string | number>;
  };
  // The first command applies the migrations; the next two may run side by side.
  const team = await cli('teamadd', '-name', 'Load', '-plan', 'load');
  const [sa, decoy, rs] = await Promise.all([
    cli('serviceaccountadd', '-team', String(team.team_id), '-name', 'load', '-scope', 'api:read'),
    cli('serviceaccountadd', '-team', String(team.team_id), '-name', 'decoy', '-scope', 'api:read'),
    cli('resourceserveradd', '-name', 'api'),
  ]);
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const ready = await until(
    () =>
      fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    // Two workers on a busy 2-core machine can take a while.
    60_000,
  );
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`keyport did not start: ${stderr}`);
  }
  return {
    url,
    process: child,
    clientId: String(sa.client_id),
    clientSecret: String(sa.client_secret),
    rsId: String(rs.client_id),
    rsSecret: String(rs.client_secret),
    teamId: Number(team.team_id),
    decoyId: String(decoy.client_id),
    adminToken: ADMIN_TOKEN,
    workerPids() {
      const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' });
      return ps.stdout
        .split('\n')
        .map((line) => Number(line.trim()))
        .filter((pid) => pid > 0);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
