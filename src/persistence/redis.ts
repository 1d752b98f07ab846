import { Redis } from 'ioredis';
import type { Config } from '../config.js';

export type RedisClient = Redis;

/**
 * The optional shared store for hot, short-lived state (plan counters,
 * failure throttles, assertion jtis), when `REDIS_URL` is set: every keyport
 * process and host shares it, and MySQL stays the system of record. Without
 * it, all of that lives in the database, as before.
 */
export function createRedis(config: Config): RedisClient | undefined {
  if (!config.redisUrl) return undefined;
  return new Redis(config.redisUrl, {
    keyPrefix: config.redisKeyPrefix,
    // A request waits for Redis a bounded time, then fails loudly instead of hanging.
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    lazyConnect: false,
  });
}
