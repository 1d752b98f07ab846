import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { conflictsRetried, type Db } from '../persistence/sql/knex.js';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import type { SharedRedis } from '../persistence/redis.js';

/** keyport's Prometheus metrics, in a registry of its own (one per keyport, so tests can run several). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route'>;
  readonly tokenGrants: Counter<'grant_type' | 'outcome'>;
  readonly clientAuthFailures: Counter<'reason'>;
  readonly rateLimitRejections: Counter<'reason'>;
  /** The text of GET /metrics: this process's, or with KEYPORT_WORKERS every worker's, summed. */
  render(): Promise<{ contentType: string; text: string }>;
}

/** A write-behind buffer of counts (usage, key usage), as the metrics read it. */
export interface CountBuffer {
  /** Kept and not written yet, dropped included. */
  readonly unwritten: number;
  readonly dropped: number;
}

export function createMetrics({
  db,
  bcrypt,
  redis,
  buffers = {},
}: {
  db: Db;
  bcrypt: BcryptGate;
  redis?: SharedRedis;
  /** By name (`usage`, `key_usage`): what waits to be written while the database is slow or out. */
  buffers?: Record<string, CountBuffer>;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyport_' });
  const pool = () =>
    (db.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;

  new Gauge({
    name: 'keyport_bcrypt_in_flight',
    help: 'bcrypt checks running now',
    registers: [registry],
    collect() {
      this.set(bcrypt.inFlight);
    },
  });
  new Gauge({
    name: 'keyport_bcrypt_waiting',
    help: 'bcrypt checks queued for a slot',
    registers: [registry],
    collect() {
      this.set(bcrypt.waiting);
    },
  });
  new Counter({
    name: 'keyport_bcrypt_checks_total',
    help: 'bcrypt checks run (a remembered verification runs none)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(bcrypt.started);
    },
  });
  new Counter({
    name: 'keyport_database_conflicts_retried_total',
    help: 'transactions and statements run again after losing a write conflict (deadlock, Galera certification)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(conflictsRetried(db));
    },
  });
  new Gauge({
    name: 'keyport_db_pool_connections',
    help: 'database pool connections by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const p = pool();
      this.set({ state: 'used' }, p?.numUsed() ?? 0);
      this.set({ state: 'free' }, p?.numFree() ?? 0);
      this.set({ state: 'pending' }, p?.numPendingAcquires() ?? 0);
    },
  });
  if (redis) watchRedis(registry, redis);

  new Gauge({
    name: 'keyport_usage_unwritten',
    help: 'counted uses kept in memory, waiting to be written (grows while the database is out, then drains)',
    labelNames: ['buffer'],
    registers: [registry],
    collect() {
      for (const [name, b] of Object.entries(buffers)) this.set({ buffer: name }, b.unwritten - b.dropped);
    },
  });
  new Counter({
    name: 'keyport_usage_dropped_total',
    help: 'counted uses dropped because the buffer was full (the database out for long); never written',
    labelNames: ['buffer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, b] of Object.entries(buffers)) this.inc({ buffer: name }, b.dropped);
    },
  });

  return {
    registry,
    httpRequests: new Counter({
      name: 'keyport_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'keyport_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    tokenGrants: new Counter({
      name: 'keyport_token_grants_total',
      help: 'token endpoint answers by grant type and outcome (success or the OAuth error code)',
      labelNames: ['grant_type', 'outcome'],
      registers: [registry],
    }),
    clientAuthFailures: new Counter({
      name: 'keyport_client_auth_failures_total',
      help: 'failed client authentications by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rateLimitRejections: new Counter({
      name: 'keyport_rate_limit_rejections_total',
      help: '429 answers by reason (plan budget, failure throttle, bcrypt queue full)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    async render() {
      if (cluster.isWorker) return { contentType: registry.contentType, text: await askPrimary() };
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}

/** With REDIS_URL: whether Redis answers (a PING, bounded), and how often the database stood in for it. */
function watchRedis(registry: Registry, redis: SharedRedis): void {
  new Gauge({
    name: 'keyport_redis_up',
    help: 'whether Redis answers (1) or keyport is degraded to the database (0); the lowest of all workers',
    aggregator: 'min',
    registers: [registry],
    async collect() {
      this.set((await redis.answers()) ? 1 : 0);
    },
  });
  new Counter({
    name: 'keyport_redis_fallbacks_total',
    help: 'Redis calls answered by the database instead, because Redis failed or the breaker was open',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(redis.breaker.fellBack);
    },
  });
}

/** In a worker: the registries prom-client's cluster support reads when the primary asks. */
export function shareWithPrimary(metrics: Metrics): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([metrics.registry]);
  // prom-client starts answering the primary's requests when an AggregatorRegistry is made.
  new AggregatorRegistry();
}

const ASK = 'keyport:metrics';

function askPrimary(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the primary did not answer with metrics in 5 s'));
    }, 5000);
    const onMessage = (message: { type?: string; id?: string; text?: string; error?: string }) => {
      if (message?.type !== ASK || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    process.on('message', onMessage);
    process.send!({ type: ASK, id });
  });
}

/** In the primary of KEYPORT_WORKERS: answers a worker's request with every worker's metrics, summed. */
export function answerMetricsRequests(): (worker: import('node:cluster').Worker) => void {
  const aggregator = new AggregatorRegistry();
  return (worker) => {
    worker.on('message', (message: { type?: string; id?: string }) => {
      if (message?.type !== ASK) return;
      aggregator.clusterMetrics().then(
        (text) => worker.isConnected() && worker.send({ type: ASK, id: message.id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: ASK, id: message.id, error: err.message }),
      );
    });
  };
}
