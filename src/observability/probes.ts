import type Koa from 'koa';
import type { Config } from '../config.js';
import type { Db } from '../persistence/sql/knex.js';
import type { SharedRedis } from '../persistence/redis.js';
import { migrationState } from '../persistence/sql/migrate.js';
import type { Metrics } from './metrics.js';
import { timingSafeEqual } from 'node:crypto';

/**
 * GET /healthz: 200 while the process runs. GET /readyz: 200 when the
 * database answers and its migrations are this code's, else 503 with the
 * reason; 503 from the moment a stop begins (shutdown_delay_seconds). A
 * Redis that does not answer leaves it 200 with `degraded: ["redis"]`:
 * keyport serves from the database, so taking it out of the load balancer
 * would only turn a degraded service into none. GET /metrics: Prometheus
 * text, behind `metrics_token` when set; listening beyond loopback without
 * it, /metrics answers 404.
 */
export function probes({
  config,
  db,
  redis,
  metrics,
  state,
}: {
  config: Config;
  db: Db;
  redis?: SharedRedis;
  metrics: Metrics;
  state: { readonly stopping: boolean };
}): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    ctx.set('Cache-Control', 'no-store');
    switch (ctx.path) {
      case '/healthz':
        ctx.body = { status: 'ok' };
        return;
      case '/readyz': {
        // Both at once: the Redis check is bounded by its command timeout, and the database's by its own.
        const [reason, redisAnswers] = await Promise.all([
          state.stopping ? 'shutting down' : notReadyBecause(db),
          redis ? redis.answers() : true,
        ]);
        ctx.status = reason ? 503 : 200;
        ctx.body = reason
          ? { status: 'not_ready', reason }
          : { status: 'ready', ...(redisAnswers ? {} : { degraded: ['redis'] }) };
        return;
      }
      case '/metrics': {
        // Beyond loopback, metrics (client ids, error rates) are never open to whoever can reach the port.
        if (!config.metricsToken && !config.listensOnLoopbackOnly) {
          ctx.status = 404;
          ctx.body = {
            error: 'not_found',
            message: 'GET /metrics is served beyond loopback only with metrics_token (KEYPORT_METRICS_TOKEN) set',
          };
          return;
        }
        if (config.metricsToken && !bearerMatches(ctx.get('authorization'), config.metricsToken)) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
          ctx.body = { error: 'invalid_token', message: 'GET /metrics needs the metrics token' };
          return;
        }
        const { contentType, text } = await metrics.render();
        ctx.type = contentType;
        ctx.body = text;
        return;
      }
      default:
        return next();
    }
  };
}

async function notReadyBecause(db: Db): Promise<string | undefined> {
  try {
    await db.raw('SELECT 1');
  } catch (err) {
    return `database unreachable: ${(err as { code?: string }).code ?? 'error'}`;
  }
  let state: Awaited<ReturnType<typeof migrationState>>;
  try {
    state = await migrationState(db);
  } catch (err) {
    return `database unreachable: ${(err as { code?: string }).code ?? 'error'}`;
  }
  if (state === 'current') return undefined;
  // A server that is running migrated at start: no tables now means the database it had is gone.
  if (state === 'empty')
    return "database unreachable: keyport's tables are gone (the database was dropped or replaced)";
  if (state === 'behind') return 'database migrations are behind this keyport: run `keyport migrate`';
  return 'database was migrated by a newer keyport';
}

function bearerMatches(header: string, token: string): boolean {
  const presented = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
