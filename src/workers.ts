import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import { createDb } from './persistence/sql/knex.js';
import { migrateLatest } from './persistence/sql/migrate.js';
import { loadOrCreateKeys } from './persistence/signing-keys.js';
import { answerMetricsRequests } from './observability/metrics.js';
import { shouldWatchParent, watchParent } from './parent-watch.js';

/**
 * The primary of `KEYPORT_WORKERS=N`: applies migrations and creates the keys
 * once (so workers never race to), then runs N workers that share the port.
 * All shared state is in the database, so any worker answers any request.
 * A worker that dies is replaced; SIGTERM stops them all, then the primary.
 */
const WORKER_HEAP_MB = 128;

export async function runPrimary(config: Config): Promise<void> {
  const db = createDb(config.databaseUrl, { timeoutMs: config.databaseTimeoutMs });
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
  await loadOrCreateKeys(config.keysDir);

  // V8 sizes its heap from the machine's memory and collects lazily: under
  // load a worker's resident memory drifts well past what it uses. A cap
  // keeps it near its working set (about 140 MB measured, see BENCHMARKS.md);
  // an operator's own --max-old-space-size (argv or NODE_OPTIONS) wins.
  const ownCap = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
    a.startsWith('--max-old-space-size'),
  );
  if (!ownCap) cluster.setupPrimary({ execArgv: [...process.execArgv, `--max-old-space-size=${WORKER_HEAP_MB}`] });

  let stopping = false;
  const workers = new Set<Worker>();
  const serveMetrics = answerMetricsRequests();
  const fork = () => {
    const worker = cluster.fork();
    serveMetrics(worker);
    let listening = false;
    workers.add(worker);
    worker.once('listening', () => (listening = true));
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) {
        if (workers.size === 0) process.exit(process.exitCode ?? 0);
        return;
      }
      if (!listening) {
        // It never started (bad port, database down): restarting would only loop.
        process.stderr.write(`keyport worker ${worker.process.pid} failed to start; stopping\n`);
        process.exitCode = 1;
        stop();
        if (workers.size === 0) process.exit(1);
        return;
      }
      process.stderr.write(`keyport worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
      fork();
    });
  };
  function stop() {
    if (stopping) return;
    stopping = true;
    for (const worker of workers) worker.process.kill('SIGTERM');
  }

  for (let i = 0; i < config.workers; i++) fork();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (shouldWatchParent(config.stopWithParent)) watchParent(stop);
}

export const isPrimaryOfMany = (config: Config) => config.workers > 1 && cluster.isPrimary;
