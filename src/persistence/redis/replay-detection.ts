import { secondsOf, type Clock } from '../../clock.js';
import type { RedisClient } from '../redis.js';

/**
 * RFC 7523 §3 jti replay detection in Redis: one SET NX per assertion, kept
 * for its lifetime; the first writer wins, across every process and host.
 */
export function createRedisFirstUse(
  redis: RedisClient,
  clock: Clock,
): (row: { readonly id: string; readonly expires_at: number | null }) => Promise<boolean> {
  return async (row) => {
    const now = secondsOf(clock);
    return (
      (await redis.set(`jti:${row.id}`, '1', 'EX', Math.max(1, (row.expires_at ?? now + 60) - now), 'NX')) === 'OK'
    );
  };
}
