import { systemClock, type Clock } from '../../clock.js';
import type { WindowCount, WindowCounterStore } from '../../limits/counter-store.js';
import type { RedisClient } from '../redis.js';

/**
 * Adds to a counter (a hash: points `p`, window end `e` in epoch ms) and
 * starts its window again once it has passed by the caller's clock, as the
 * database version does. Redis's own expiry only removes what is over.
 */
const ADD_SCRIPT = `local now = tonumber(ARGV[3])
local ends = tonumber(redis.call('HGET', KEYS[1], 'e') or '0')
local n
if ends > now then
  n = redis.call('HINCRBY', KEYS[1], 'p', ARGV[1])
else
  ends = now + tonumber(ARGV[2])
  n = tonumber(ARGV[1])
  redis.call('HSET', KEYS[1], 'p', n, 'e', ends)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {n, ends}`;

/** Window counters in Redis (`REDIS_URL`), one hash per key under `fc:`. */
export function createRedisWindowCounters(redis: RedisClient, clock: Clock = systemClock): WindowCounterStore {
  const name = (key: string) => `fc:${key}`;
  return {
    async get(key) {
      const now = clock.now();
      const [points, ends] = await redis.hmget(name(key), 'p', 'e');
      if (points === null || ends === null || Number(ends) <= now) return undefined;
      return { points: Number(points), msLeft: Number(ends) - now };
    },
    async add(key, points, windowMs): Promise<WindowCount> {
      const now = clock.now();
      const [n, ends] = (await redis.eval(ADD_SCRIPT, 1, name(key), points, windowMs, now)) as [number, number];
      return { points: Number(n), msLeft: Math.max(0, Number(ends) - now) };
    },
    async delete(key) {
      await redis.del(name(key));
    },
    // Each key expires with its window: nothing to sweep.
    deleteExpired: async () => 0,
  };
}
