import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli.js';

/** The newest installed PostgreSQL's programs (Debian: 15 on this machine, as `.ci/run` installs it). */
const BIN = `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql')
  .filter((v) => /^\d+$/.test(v))
  .sort((a, b) => Number(a) - Number(b))
  .at(-1)}/bin`;

/** A primary and a replica of the test's own, either engine. */
export interface OwnReplica {
  /** `postgres://postgres@127.0.0.1:PORT/DB` or `mysql://root@127.0.0.1:PORT/DB` on either server. */
  url(on: 'primary' | 'standby', database: string): string;
  /** One statement through psql or mariadb; its rows as tab-separated text. */
  sql(on: 'primary' | 'standby', statement: string, database?: string): string;
  /** Polls until the replica has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  /** Stops the replica applying what it receives, returning once it has stopped. */
  pauseReplay(): Promise<void>;
  resumeReplay(): void;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL 15 primary and a streaming standby of the test's own (never
 * the shared server on 5432): initdb in a temp dir, wal_level=replica,
 * pg_basebackup -R for the standby, each on a free loopback port. Run as
 * the `postgres` OS user when the test runs as root (initdb refuses root).
 * Pausing is `pg_wal_replay_pause()` on the standby.
 */
const asPostgres = userInfo().uid === 0 ? ['runuser', '-u', 'postgres', '--'] : [];

function run(command: string, args: readonly string[]): string {
  const [bin, ...rest] = [...asPostgres, command, ...args];
  const result = spawnSync(bin!, rest, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}

async function poll(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startPostgresReplica(): Promise<OwnReplica> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-pg-replica-'));
  if (asPostgres.length) {
    const pg = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pg.stdout), Number(gid.stdout));
  }
  const primaryDir = join(dir, 'primary');
  const standbyDir = join(dir, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  run(`${BIN}/initdb`, ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  appendFileSync(
    join(primaryDir, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      'fsync = off',
      'shared_buffers = 16MB',
      // Counts statements per server: the test reads on which one the hot reads ran.
      "shared_preload_libraries = 'pg_stat_statements'",
      '',
    ].join('\n'),
  );
  const started: string[] = [];
  const start = (data: string, port: number) => {
    run(`${BIN}/pg_ctl`, ['-D', data, '-o', `-p ${port}`, '-l', join(dir, `${port}.log`), '-w', 'start']);
    started.push(data);
  };
  const stopAll = () => {
    for (const data of started.splice(0).reverse()) {
      try {
        run(`${BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const sql = (on: 'primary' | 'standby', statement: string, database = 'postgres') =>
    run(`${BIN}/psql`, [
      '-h',
      '127.0.0.1',
      '-p',
      String(on === 'primary' ? primaryPort : standbyPort),
      '-U',
      'postgres',
      '-d',
      database,
      '-XAtq',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      statement,
    ]);
  try {
    start(primaryDir, primaryPort);
    run(`${BIN}/pg_basebackup`, [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      standbyDir,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    start(standbyDir, standbyPort);
  } catch (err) {
    stopAll();
    throw err;
  }
  const standbyLag = () =>
    sql(
      'standby',
      `SELECT pg_wal_lsn_diff('${sql('primary', 'SELECT pg_current_wal_lsn()')}', pg_last_wal_replay_lsn())`,
    );
  return {
    url: (on, database) => `postgres://postgres@127.0.0.1:${on === 'primary' ? primaryPort : standbyPort}/${database}`,
    sql,
    caughtUp: () => poll(() => Number(standbyLag()) <= 0, 'the standby to replay the primary'),
    async pauseReplay() {
      sql('standby', 'SELECT pg_wal_replay_pause()');
      await poll(() => sql('standby', 'SELECT pg_get_wal_replay_pause_state()') === 'paused', 'replay to pause');
    },
    resumeReplay: () => void sql('standby', 'SELECT pg_wal_replay_resume()'),
    stop: async () => stopAll(),
  };
}
