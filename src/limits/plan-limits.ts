import type { Config } from '../config.js';
import { createBatcher } from '../persistence/batch.js';
import { isMysql, type Db } from '../persistence/sql/knex.js';
import type { RedisClient } from '../persistence/redis.js';

/** What a rate-limited answer carries (docs/contract.md, Rate limits). */
export interface LimitVerdict {
  readonly allowed: boolean;
  readonly headers: Readonly<Record<'X-RateLimit-Limit' | 'X-RateLimit-Remaining' | 'X-RateLimit-Reset', string>>;
  /** Whole seconds until the exceeded window has room again. */
  readonly retryAfter: number;
  /** What every window still has room for (the fewest left in any). */
  readonly room: number;
  /** Milliseconds until the shortest window ends (a lease must not outlive it). */
  readonly windowEndsInMs: number;
}

export interface PlanLimits {
  /**
   * Counts one request of an authenticated client against each window and
   * reports on the tightest. `limits` are the client's (plan, environment).
   */
  consume(clientId: string, limits: readonly [number, number, number], cost?: number): Promise<LimitVerdict>;
  /** The limits of a client: its plan's, a tenth for dev keys; resource servers have their own. */
  limitsFor(client: { plan?: string; environment: string; kind: string }): readonly [number, number, number];
}

const TABLE = 'plan_counters';

/**
 * Counts requests in all three windows with one upsert per batch of
 * concurrent requests (db/batch.ts). Windows are fixed and aligned to the
 * clock (a minute window starts on the minute), so every process computes
 * the same window start. A request that arrives with an older window start
 * than the row's (a straggler at a boundary) is counted in the newer window:
 * a count never goes backwards. Each request gets its own place in the
 * count: k requests of one client in a batch that leaves the count at c get
 * c-k+1 … c, so a batch never lets more through than one at a time would.
 */
function createCounter(db: Db): (clientId: string, starts: readonly number[], cost: number) => Promise<number[]> {
  const mysql = isMysql(db);
  const update = [0, 1, 2]
    .map((i) =>
      mysql
        ? `n${i} = IF(VALUES(s${i}) > s${i}, VALUES(n${i}), n${i} + VALUES(n${i})), s${i} = GREATEST(s${i}, VALUES(s${i}))`
        : `n${i} = CASE WHEN excluded.s${i} > s${i} THEN excluded.n${i} ELSE n${i} + excluded.n${i} END, s${i} = MAX(s${i}, excluded.s${i})`,
    )
    .join(', ');

  // One client (the hot case: one busy key): the upsert stores the new counts
  // in session variables as it writes them, and the same connection reads
  // them back. Exact like the transaction, with no lock held between the two.
  const captured = [0, 1, 2]
    .map(
      (i) =>
        `n${i} = (@kp_n${i} := IF(VALUES(s${i}) > s${i}, VALUES(n${i}), n${i} + VALUES(n${i}))), s${i} = GREATEST(s${i}, VALUES(s${i}))`,
    )
    .join(', ');
  async function countOneOnMysql(clientId: string, bindings: ReadonlyArray<string | number>) {
    const connection = await db.client.acquireConnection();
    try {
      const [result] = (await db
        .raw(
          `INSERT INTO ${TABLE} (client_id, s0, n0, s1, n1, s2, n2) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE ${captured}`,
          [...bindings],
        )
        .connection(connection)) as [{ affectedRows: number }];
      // 1: inserted, so the counts are this batch's own.
      if (result.affectedRows === 1)
        return { client_id: clientId, n0: Number(bindings[2]), n1: Number(bindings[4]), n2: Number(bindings[6]) };
      const [[values]] = (await db.raw('SELECT @kp_n0 AS n0, @kp_n1 AS n1, @kp_n2 AS n2').connection(connection)) as [
        [{ n0: number; n1: number; n2: number }],
      ];
      return { client_id: clientId, ...values };
    } finally {
      await db.client.releaseConnection(connection);
    }
  }

  const countBatch = async (requests: ReadonlyArray<{ clientId: string; starts: readonly number[]; cost: number }>) => {
    // k: what the batch adds to a client's count (the sum of its requests' costs).
    const groups = new Map<string, { starts: number[]; k: number }>();
    for (const { clientId, starts, cost } of requests) {
      const group = groups.get(clientId);
      if (group) {
        group.k += cost;
        group.starts = group.starts.map((s, i) => Math.max(s, starts[i]!));
      } else groups.set(clientId, { starts: [...starts], k: cost });
    }
    // One order for every batch, so two batches lock shared rows in the same order (no deadlock).
    const ids = [...groups.keys()].sort();
    const values = ids.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
    const bindings = ids.flatMap((id) => {
      const { starts, k } = groups.get(id)!;
      return [id, starts[0]!, k, starts[1]!, k, starts[2]!, k];
    });
    const insert = `INSERT INTO ${TABLE} (client_id, s0, n0, s1, n1, s2, n2) VALUES ${values}`;
    let rows: Array<{ client_id: string; n0: number; n1: number; n2: number }>;
    if (mysql && ids.length === 1) {
      rows = [await countOneOnMysql(ids[0]!, bindings)];
    } else if (mysql) {
      // MySQL has no RETURNING: the rows are read back in the same transaction,
      // while the upsert's row locks keep any other batch's increment out until
      // commit. So the count read is exactly this batch's last place, and two
      // racing batches neither refuse early nor let one more through.
      [rows] = (await db.transaction(async (trx) => {
        await trx.raw(`${insert} ON DUPLICATE KEY UPDATE ${update}`, bindings);
        return trx.raw(
          `SELECT client_id, n0, n1, n2 FROM ${TABLE} WHERE client_id IN (${ids.map(() => '?').join(', ')})`,
          ids,
        );
      })) as [typeof rows];
    } else {
      rows = (await db.raw(
        `${insert} ON CONFLICT(client_id) DO UPDATE SET ${update} RETURNING client_id, n0, n1, n2`,
        bindings,
      )) as typeof rows;
    }
    return placesIn(
      requests,
      groups,
      new Map(rows.map((row) => [row.client_id, [Number(row.n0), Number(row.n1), Number(row.n2)]])),
    );
  };

  const count = createBatcher(countBatch, 100);
  return (clientId, starts, cost) => count({ clientId, starts, cost });
}

/**
 * Each request's place in its client's three windows: the count once it (and
 * the requests before it in the batch) are added. `counts` are the windows'
 * counts after the whole batch, `groups` what the batch added per client.
 */
function placesIn(
  requests: ReadonlyArray<{ clientId: string; cost: number }>,
  groups: ReadonlyMap<string, { k: number }>,
  counts: ReadonlyMap<string, number[]>,
): number[][] {
  const handedOut = new Map<string, number>();
  return requests.map(({ clientId, cost }) => {
    const through = (handedOut.get(clientId) ?? 0) + cost;
    handedOut.set(clientId, through);
    const { k } = groups.get(clientId)!;
    return counts.get(clientId)!.map((n) => n - k + through);
  });
}

/**
 * The same counts in Redis (`REDIS_URL`): one script per batch adds each
 * client's cost to its three window keys, which expire with their window,
 * and answers the counts. Atomic in Redis, so exact across every process
 * and host; places are handed out within a batch as in the database version.
 */
const COUNT_SCRIPT = `local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
  if n == tonumber(ARGV[2 * i - 1]) then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
  out[i] = n
end
return out`;

function createRedisCounter(
  redis: RedisClient,
  windows: readonly number[],
): (clientId: string, starts: readonly number[], cost: number) => Promise<number[]> {
  const countBatch = async (requests: ReadonlyArray<{ clientId: string; starts: readonly number[]; cost: number }>) => {
    const groups = new Map<string, { starts: readonly number[]; k: number }>();
    for (const { clientId, starts, cost } of requests) {
      const group = groups.get(clientId);
      if (group) group.k += cost;
      else groups.set(clientId, { starts, k: cost });
    }
    const ids = [...groups.keys()];
    const keys = ids.flatMap((id) => groups.get(id)!.starts.map((start, i) => `pc:${id}:${i}:${start}`));
    const args = ids.flatMap((id) => windows.flatMap((w) => [groups.get(id)!.k, w + 60]));
    const counts = (await redis.eval(COUNT_SCRIPT, keys.length, ...keys, ...args)) as number[];
    return placesIn(requests, groups, new Map(ids.map((id, j) => [id, counts.slice(j * 3, j * 3 + 3).map(Number)])));
  };
  const count = createBatcher(countBatch, 100);
  return (clientId, starts, cost) => count({ clientId, starts, cost });
}

export function createPlanLimits(db: Db, config: Config, redis?: RedisClient): PlanLimits {
  const windows = config.rateLimitWindowsSeconds;
  const count = redis ? createRedisCounter(redis, windows) : createCounter(db);

  return {
    async consume(clientId, limits, cost = 1) {
      const now = Date.now();
      const seconds = Math.floor(now / 1000);
      const starts = windows.map((w) => seconds - (seconds % w));
      const used = await count(clientId, starts, cost);
      const states = used.map((n, i) => ({
        limit: limits[i]!,
        used: n,
        resetMs: (starts[i]! + windows[i]!) * 1000 - now,
      }));
      const exceeded = states.filter((s) => s.used > s.limit);
      // The tightest window: the one with the fewest requests left.
      const tightest = states.reduce((a, b) => (b.limit - b.used < a.limit - a.used ? b : a));
      const shown = exceeded.length ? exceeded.reduce((a, b) => (b.resetMs > a.resetMs ? b : a)) : tightest;
      return {
        allowed: exceeded.length === 0,
        headers: {
          'X-RateLimit-Limit': String(shown.limit),
          'X-RateLimit-Remaining': String(Math.max(0, shown.limit - shown.used)),
          'X-RateLimit-Reset': String(Math.ceil((now + shown.resetMs) / 1000)),
        },
        retryAfter: Math.max(1, Math.ceil(shown.resetMs / 1000)),
        room: Math.max(0, Math.min(...states.map((s) => s.limit - s.used))),
        windowEndsInMs: Math.min(...states.map((s) => s.resetMs)),
      };
    },

    limitsFor({ plan, environment, kind }) {
      if (kind === 'resource_server') return config.resourceServerRateLimits;
      const base = (plan !== undefined ? config.plans[plan]?.rate_limits : undefined) ?? [1, 1, 1];
      return environment === 'dev'
        ? (base.map((n) => Math.max(1, Math.floor(n / 10))) as unknown as [number, number, number])
        : base;
    },
  };
}

/** Deletes the counters of clients idle for a whole longest window, in batches. */
export async function deleteIdleCounters(db: Db, config: Config, batchSize = 1000): Promise<number> {
  const longest = config.rateLimitWindowsSeconds[2];
  const before = Math.floor(Date.now() / 1000) - longest;
  let total = 0;
  for (;;) {
    const ids = (await db(TABLE).where('s2', '<', before).limit(batchSize).pluck('client_id')) as string[];
    if (!ids.length) return total;
    await db(TABLE).whereIn('client_id', ids).delete();
    total += ids.length;
    if (ids.length < batchSize) return total;
  }
}
