import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli.js';
import type { OwnReplica } from './postgres-replica.js';

/**
 * A MariaDB primary and a replica of the test's own (never the shared server
 * on 3306): two fresh data directories on free loopback ports, row-based
 * binary log with GTIDs, no grant tables (root without a password). The
 * replica has no log_slave_updates: its own binary log holds only writes sent to it.
 */
export async function startMariadbReplica(): Promise<OwnReplica> {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-mariadb-replica-'));
  const ports = { primary: await freePort(), standby: await freePort() };
  const children: ChildProcess[] = [];
  const sql = (on: 'primary' | 'standby', statement: string, database?: string) => {
    const args = ['-uroot', '-h127.0.0.1', `-P${ports[on]}`, '-N', '-B', '-e', statement];
    const run = spawnSync('mariadb', database ? [...args, database] : args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`mariadb: ${run.stderr}`);
    return run.stdout.trim();
  };
  const poll = async (check: () => boolean, what: string) => {
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        if (check()) return;
      } catch {
        // not answering yet
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [on, id] of [
      ['primary', 1],
      ['standby', 2],
    ] as const) {
      const datadir = join(dir, on);
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
      children.push(
        spawn(
          'mariadbd',
          [
            '--no-defaults',
            `--datadir=${datadir}`,
            `--port=${ports[on]}`,
            '--bind-address=127.0.0.1',
            `--socket=${join(dir, `${on}.sock`)}`,
            `--pid-file=${join(dir, `${on}.pid`)}`,
            `--log-error=${join(dir, `${on}.log`)}`,
            '--user=root',
            '--skip-grant-tables',
            `--server-id=${id}`,
            `--log-bin=${join(datadir, 'binlog')}`,
            '--binlog-format=ROW',
            '--innodb-buffer-pool-size=32M',
          ],
          { stdio: 'ignore' },
        ),
      );
      await poll(() => sql(on, 'SELECT 1') === '1', `the own ${on} mariadbd to start`);
    }
    sql(
      'standby',
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${ports.primary}, MASTER_USER='root', MASTER_USE_GTID=slave_pos; START SLAVE`,
    );
  } catch (err) {
    stop();
    throw err;
  }
  // ON while both replication threads run (MariaDB's Slave_running).
  const running = () =>
    sql('standby', "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'");
  return {
    url: (on, database) => `mysql://root@127.0.0.1:${ports[on]}/${database}`,
    sql,
    async caughtUp() {
      const position = sql('primary', 'SELECT @@gtid_binlog_pos');
      await poll(() => sql('standby', `SELECT MASTER_GTID_WAIT('${position}', 1)`) === '0', 'the replica to catch up');
    },
    async pauseReplay() {
      // The IO thread keeps receiving the primary's binary log; only applying it stops.
      sql('standby', 'STOP SLAVE SQL_THREAD');
      await poll(() => running() === 'OFF', 'the replica SQL thread to stop');
    },
    resumeReplay: () => void sql('standby', 'START SLAVE SQL_THREAD'),
    stop: async () => stop(),
  };
}
