// What one request costs, measured around each timed round of keyport: CPU
// time of keyport's processes (primary and workers), of the database server
// (MariaDB, or every postgres process) and of Redis, from /proc; MySQL
// statements (`Questions`) and Redis commands.
// Divided by the requests answered 2xx in the round (docs/scaling.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

const TICK_MS = 10; // /proc/<pid>/stat counts in clock ticks of 1/100 s (USER_HZ on Linux)

function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

function treeOf(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // the process has gone: no children
  }
  return [pid, ...kids.flatMap(treeOf)];
}

const pidsOf = (name) => {
  try {
    return execFileSync('pgrep', ['-x', name]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/**
 * A meter for keyport's process tree, with the database server (a knex instance: MySQL's CPU and
 * statements; PostgreSQL's CPU, every postgres process, the shared server's other users included)
 * and Redis when used.
 */
export function createCostMeter({ keyportPid, db, redisUrl }) {
  // knex's driver name: the MySQL dialect gives knex a client class of its own, not the string.
  const driver = db && (db.client.driverName ?? db.client.config.client);
  const mysql = driver === 'mysql2';
  const postgres = driver === 'pg';
  const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: false }) : undefined;
  // PostgreSQL forks a process per connection: listed again at each snapshot (dbCpu).
  const serverPids = () => (mysql ? [...pidsOf('mariadbd'), ...pidsOf('mysqld')] : postgres ? pidsOf('postgres') : []);
  const redisPids = redis ? pidsOf('redis-server') : [];
  const sum = (pids) => pids.reduce((n, p) => n + cpuMs(p), 0);

  async function snapshot() {
    const [[status]] = mysql ? await db.raw("SHOW GLOBAL STATUS LIKE 'Questions'") : [[{ Value: 0 }]];
    const stats = redis ? await redis.info('commandstats') : '';
    const commands = [...stats.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    return {
      keyport: sum(treeOf(keyportPid)),
      mysql: new Map(serverPids().map((pid) => [pid, cpuMs(pid)])),
      redis: sum(redisPids),
      queries: Number(status.Value),
      commands,
    };
  }

  return {
    /** Starts measuring; the answer stops and divides by `requests`. */
    async start() {
      const before = await snapshot();
      return async (requests) => {
        const after = await snapshot();
        // The server's CPU over the round: every process alive at its end, from its start or its birth.
        const dbCpu = [...after.mysql].reduce((n, [pid, ms]) => n + ms - (before.mysql.get(pid) ?? 0), 0);
        const per = (k) => (requests ? (k === 'mysql' ? dbCpu : after[k] - before[k]) / requests : 0);
        return {
          requests,
          keyport_cpu_ms: per('keyport'),
          mysql_cpu_ms: mysql || postgres ? per('mysql') : null,
          redis_cpu_ms: redis ? per('redis') : null,
          // Two statements per round are the meter's own.
          mysql_queries: mysql ? Math.max(0, (after.queries - before.queries - 2) / requests) : null,
          redis_commands: redis ? Math.max(0, (after.commands - before.commands - 2) / requests) : null,
        };
      };
    },
    async close() {
      await redis?.quit();
    },
  };
}

/** Sums the rounds' measurements into per-request figures for a scenario. */
export function totalCost(rounds) {
  const measured = rounds.filter(Boolean);
  const requests = measured.reduce((n, r) => n + r.requests, 0);
  if (!requests) return undefined;
  const avg = (k) =>
    measured.some((r) => r[k] === null) ? null : measured.reduce((n, r) => n + r[k] * r.requests, 0) / requests;
  return {
    keyport_cpu_ms: avg('keyport_cpu_ms'),
    mysql_cpu_ms: avg('mysql_cpu_ms'),
    redis_cpu_ms: avg('redis_cpu_ms'),
    mysql_queries: avg('mysql_queries'),
    redis_commands: avg('redis_commands'),
  };
}

export function printCosts(results) {
  const fmt = (v, d = 3) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const rows = [
    [
      'scenario',
      'keyport CPU ms/req',
      'DB server CPU ms/req',
      'Redis CPU ms/req',
      'MySQL statements/req',
      'Redis commands/req',
    ],
  ];
  for (const { title, cost } of results)
    if (cost)
      rows.push([
        title,
        fmt(cost.keyport_cpu_ms),
        fmt(cost.mysql_cpu_ms),
        fmt(cost.redis_cpu_ms),
        fmt(cost.mysql_queries, 2),
        fmt(cost.redis_commands, 2),
      ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  console.log("\nwhat one request cost keyport's side, per 2xx answer, over the timed rounds:");
  for (const [n, row] of rows.entries()) {
    console.log(
      row.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  '),
    );
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
