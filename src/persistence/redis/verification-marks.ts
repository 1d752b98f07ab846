import { systemClock, type Clock } from '../../clock.js';
import type { VerificationMarks } from '../../clients/verified-secrets.js';
import type { RedisClient } from '../redis.js';

/**
 * Verification marks in Redis under `vs:`, each holding when it expires
 * (epoch ms, by the caller's clock) and expiring in Redis with it: a mark is
 * honoured only while that clock says it lasts.
 */
export function createRedisVerificationMarks(redis: RedisClient, clock: Clock = systemClock): VerificationMarks {
  const name = (key: string) => `vs:${key}`;
  return {
    async firstMarked(keys) {
      if (!keys.length) return -1;
      const now = clock.now();
      const found = await redis.mget(...keys.map(name));
      return found.findIndex((until) => until !== null && Number(until) > now);
    },
    async mark(key, ttlMs) {
      await redis.set(name(key), String(clock.now() + ttlMs), 'PX', ttlMs);
    },
  };
}
