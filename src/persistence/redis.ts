import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { createBreaker, type Breaker } from './redis/breaker.js';
import { parseSentinelUrl } from './redis/sentinel-url.js';

export type RedisClient = Redis;

/**
 * The optional shared store for hot, short-lived state (failure and sign-in
 * throttles, shared verifications), when `REDIS_URL` is set: every keyport
 * process and host shares it. The database stays the record: budgets and
 * used assertion ids are always there, and while Redis fails everything it
 * held falls back to the database (see redis/with-fallback.ts).
 */
export interface SharedRedis {
  readonly client: RedisClient;
  readonly breaker: Breaker;
  /** Whether Redis answers a PING now: within the command timeout, at once false while the breaker is open. */
  answers(): Promise<boolean>;
  /** Resolves once connected, or after the connect timeout: a start never waits on Redis for longer. */
  connected(): Promise<void>;
  /** Quits, bounded: a frozen Redis does not hold a stop. */
  close(): Promise<void>;
}

export function createRedis(config: Config, onChange?: (up: boolean) => void): SharedRedis | undefined {
  if (!config.redisUrl) return undefined;
  const connectTimeout = Math.max(1000, config.redisCommandTimeoutMs * 4);
  const options = {
    keyPrefix: config.redisKeyPrefix,
    // No command waits longer than this: a frozen Redis (SIGSTOP) answers nothing, and the caller uses the database.
    commandTimeout: config.redisCommandTimeoutMs,
    // A Redis that is down refuses at once instead of queueing commands until it returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout,
  } satisfies RedisOptions;
  const sentinel = parseSentinelUrl(config.redisUrl);
  const client = sentinel
    ? // ioredis asks the sentinels for the primary, and asks again whenever its connection drops: a failover is followed
      // by a reconnect. Until then commands fail at once (no offline queue), and the breaker uses the database.
      new Redis({
        ...options,
        sentinels: [...sentinel.sentinels],
        name: sentinel.name,
        ...(sentinel.password ? { password: sentinel.password } : {}),
        // No failoverDetector: in ioredis 5.11 its disconnect, landing while the client reconnects, ends the
        // client for good (seen in test/faults/redis-sentinel.test.ts); the dropped socket is enough to follow.
      })
    : new Redis(config.redisUrl, options);
  // Failures reach the breaker through each command; the reconnecting client's errors need no second report.
  client.on('error', () => undefined);
  const breaker = createBreaker({
    failures: config.redisBreakerFailures,
    probeEveryMs: config.redisProbeIntervalMs,
    probe: () => client.ping(),
    onChange,
  });
  return {
    client,
    breaker,
    answers: () => breaker.check(() => client.ping()),
    connected: () =>
      within(
        client.status === 'ready' ? Promise.resolve() : once(client, 'ready').then(() => undefined),
        connectTimeout,
      ),
    async close() {
      breaker.stop();
      await within(
        client.quit().then(
          () => undefined,
          () => undefined,
        ),
        config.redisCommandTimeoutMs,
      );
      client.disconnect();
    },
  };
}

/** `promise`, or nothing once `ms` have passed. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
