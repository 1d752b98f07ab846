import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli.js';

/** Debian's galera-4 provider library. */
export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/** Why the Galera tests cannot run here, or undefined when they can (.ci/run installs galera-4). */
export function galeraMissing(): string | undefined {
  if (!existsSync(GALERA_PROVIDER)) return `galera-4 is not installed (no ${GALERA_PROVIDER})`;
  return undefined;
}

/** One node of the cluster: its SQL port, and a way to stop it and start it again on the same ports and data. */
export interface GaleraNode {
  readonly name: string;
  readonly port: number;
  /** `mysql://root@127.0.0.1:PORT/DB` */
  url(database: string): string;
  sql(statement: string): string;
  /** `wsrep_local_state_comment` (Synced, Joining, …) or undefined when the node does not answer. */
  state(): string | undefined;
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the node again; it rejoins the others (IST, or rsync SST) and answers once Synced. */
  start(): Promise<void>;
}

export interface GaleraCluster {
  readonly nodes: readonly GaleraNode[];
  remove(): Promise<void>;
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A three-node MariaDB Galera cluster of the test's own on free loopback ports
 * (/work/shared/notes/galera-on-loopback.md): the machine's mariadbd with
 * Debian's galera-4, each node with its own data directory and four ports (SQL,
 * group communication, IST, rsync SST), run as the `mysql` user (the rsync
 * state transfer cannot write a root-owned directory) with `--no-defaults`.
 * No grant tables: root without a password, as in the fault harness. Never the
 * shared MariaDB on 3306.
 */
export async function startGaleraCluster(size = 3): Promise<GaleraCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-galera-'));
  chmodSync(dir, 0o755);
  const specs = [];
  for (let i = 1; i <= size; i++)
    specs.push({
      name: `node${i}`,
      dir: join(dir, `node${i}`),
      sqlPort: await freePort(),
      groupPort: await freePort(),
      istPort: await freePort(),
      sstPort: await freePort(),
    });
  const clusterAddress = `gcomm://${specs.map((s) => `127.0.0.1:${s.groupPort}`).join(',')}`;
  const children = new Map<string, ChildProcess>();

  for (const spec of specs) {
    mkdirSync(spec.dir);
    spawnSync('chown', ['-R', 'mysql:mysql', spec.dir]);
    const install = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${join(spec.dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--user=mysql',
      ],
      { encoding: 'utf8' },
    );
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  }

  const nodes = specs.map((spec, index): GaleraNode => {
    const sql = (statement: string) => {
      const run = spawnSync(
        'mariadb',
        ['-uroot', '-h127.0.0.1', `-P${spec.sqlPort}`, '--connect-timeout=2', '-N', '-B', '-e', statement],
        { encoding: 'utf8', timeout: 10_000 },
      );
      if (run.status !== 0) throw new Error(`mariadb on ${spec.name}: ${run.stderr}`);
      return run.stdout.trim();
    };
    const state = () => {
      try {
        return sql("SHOW STATUS LIKE 'wsrep_local_state_comment'").split('\t')[1];
      } catch {
        return undefined;
      }
    };
    let started = false;
    const node: GaleraNode = {
      name: spec.name,
      port: spec.sqlPort,
      url: (database) => `mysql://root@127.0.0.1:${spec.sqlPort}/${database}`,
      sql,
      state,
      async start() {
        // Only the very first start of the first node forms the cluster; every later start joins it.
        const bootstrap = index === 0 && !started;
        started = true;
        const child = spawn(
          'mariadbd',
          [
            '--no-defaults',
            `--datadir=${join(spec.dir, 'data')}`,
            `--port=${spec.sqlPort}`,
            '--bind-address=127.0.0.1',
            `--socket=${join(spec.dir, 'sock')}`,
            `--pid-file=${join(spec.dir, 'pid')}`,
            `--log-error=${join(spec.dir, 'error.log')}`,
            '--user=mysql',
            '--skip-grant-tables',
            '--innodb-buffer-pool-size=32M',
            '--innodb-log-file-size=16M',
            '--wsrep-on=ON',
            `--wsrep-provider=${GALERA_PROVIDER}`,
            '--wsrep-cluster-name=keyport-test',
            `--wsrep-cluster-address=${clusterAddress}`,
            `--wsrep-node-address=127.0.0.1:${spec.groupPort}`,
            `--wsrep-node-name=${spec.name}`,
            `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${spec.groupPort};ist.recv_addr=127.0.0.1:${spec.istPort};gcache.size=64M`,
            `--wsrep-sst-receive-address=127.0.0.1:${spec.sstPort}`,
            '--wsrep-sst-method=rsync',
            '--binlog-format=ROW',
            '--default-storage-engine=InnoDB',
            '--innodb-autoinc-lock-mode=2',
            ...(bootstrap ? ['--wsrep-new-cluster'] : []),
          ],
          { stdio: 'ignore' },
        );
        children.set(spec.name, child);
        if (!(await until(() => state() === 'Synced', 90_000)))
          throw new Error(`${spec.name} did not become Synced: ${readLog(spec.dir)}`);
      },
      async stop(signal) {
        const running = children.get(spec.name);
        if (!running || running.exitCode !== null || running.signalCode !== null) return;
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill(signal);
        await exited;
      },
    };
    return node;
  });

  // The first node forms the cluster; the others join it (a state transfer each), one after the other.
  for (const node of nodes) await node.start();
  return {
    nodes,
    async remove() {
      await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').slice(-3000);
  } catch {
    return '(no log)';
  }
}
