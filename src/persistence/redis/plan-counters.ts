import type { CountRequest, PlanCounterStore } from '../../limits/plan-counter-store.js';
import { groupByClient, placesIn } from '../../limits/plan-counter-store.js';
import { createBatcher } from '../../batch.js';
import type { RedisClient } from '../redis.js';

/**
 * One script per batch adds each client's cost to its three window keys,
 * which expire with their window, and answers the counts. Atomic in Redis,
 * so exact across every process and host.
 */
const COUNT_SCRIPT = `local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
  if n == tonumber(ARGV[2 * i - 1]) then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
  out[i] = n
end
return out`;

/** Plan counters in Redis (`REDIS_URL`): a key per client, window and window start. */
export function createRedisPlanCounters(redis: RedisClient, windowsSeconds: readonly number[]): PlanCounterStore {
  const countBatch = async (requests: readonly CountRequest[]) => {
    const groups = groupByClient(requests);
    const ids = [...groups.keys()];
    const keys = ids.flatMap((id) => groups.get(id)!.starts.map((start, i) => `pc:${id}:${i}:${start}`));
    const args = ids.flatMap((id) => windowsSeconds.flatMap((w) => [groups.get(id)!.k, w + 60]));
    const counts = (await redis.eval(COUNT_SCRIPT, keys.length, ...keys, ...args)) as number[];
    return placesIn(requests, groups, new Map(ids.map((id, j) => [id, counts.slice(j * 3, j * 3 + 3).map(Number)])));
  };
  const count = createBatcher(countBatch, 100);
  return {
    count: (clientId, starts, cost) => count({ clientId, starts, cost }),
    // Each key expires a minute after its window ends: nothing to sweep.
    deleteIdle: async () => 0,
  };
}
