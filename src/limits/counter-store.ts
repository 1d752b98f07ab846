import { RateLimiterMySQL, RateLimiterRedis, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisClient } from '../persistence/redis.js';
import { isMysql, type Db } from '../persistence/sql/knex.js';

const TABLE = 'rate_limits';

/**
 * A rate-limiter-flexible counter kept in keyport's database (the table comes
 * from keyport's migrations), so every process on one database shares it;
 * in Redis when keyport has one (`REDIS_URL`).
 */
export function createDbLimiter(
  db: Db,
  opts: { keyPrefix: string; points: number; duration: number },
  redis?: RedisClient,
): RateLimiterAbstract {
  if (redis) return new RateLimiterRedis({ storeClient: redis, ...opts });
  const common = {
    storeClient: db,
    storeType: 'knex',
    tableName: TABLE,
    tableCreated: true,
    clearExpiredByTimeout: false,
    ...opts,
  };
  if (isMysql(db)) {
    const uri = (db.client.config.connection as { uri: string }).uri;
    return new RateLimiterMySQL({ ...common, dbName: decodeURIComponent(new URL(uri).pathname.slice(1)) });
  }
  return new RateLimiterSQLite(common);
}

/** Deletes counters whose window has passed (rate-limiter-flexible stores `expire` in ms). */
export async function deleteExpiredCounters(db: Db, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const keys = (await db(TABLE).where('expire', '<', Date.now()).limit(batchSize).pluck('key')) as string[];
    if (!keys.length) return total;
    await db(TABLE).whereIn('key', keys).delete();
    total += keys.length;
    if (keys.length < batchSize) return total;
  }
}
