/**
 * Where plan budgets are counted: the database (`plan_counters`) or Redis
 * (`REDIS_URL`). Windows are fixed and aligned to the clock (a minute window
 * starts on the minute), so every process computes the same window starts.
 */
export interface PlanCounterStore {
  /**
   * Adds `cost` to a client's three windows starting at `starts` (epoch
   * seconds) and answers this request's place in each: the count once it,
   * and the requests counted before it, are added. Exact under concurrency,
   * across every process sharing the store; a count never goes backwards.
   */
  count(clientId: string, starts: readonly number[], cost: number): Promise<number[]>;
  /** A client's counts in the windows starting at `starts`, read only (a window that has ended reads 0). */
  read(clientId: string, starts: readonly number[]): Promise<number[]>;
  /** Deletes the counters whose longest window started before `before` (epoch seconds): idle clients. */
  deleteIdle(before: number): Promise<number>;
}

export interface CountRequest {
  readonly clientId: string;
  readonly starts: readonly number[];
  readonly cost: number;
}

/** What one batch of requests adds per client (`k`, the sum of their costs), at the latest window starts. */
export function groupByClient(requests: readonly CountRequest[]): Map<string, { starts: number[]; k: number }> {
  const groups = new Map<string, { starts: number[]; k: number }>();
  for (const { clientId, starts, cost } of requests) {
    const group = groups.get(clientId);
    if (group) {
      group.k += cost;
      group.starts = group.starts.map((s, i) => Math.max(s, starts[i]!));
    } else groups.set(clientId, { starts: [...starts], k: cost });
  }
  return groups;
}

/**
 * Each request's place in its client's three windows. `counts` are the
 * windows' counts after the whole batch, `groups` what the batch added per
 * client: k requests of one client that leave the count at c get c-k+1 … c,
 * so a batch never lets more through than one at a time would.
 */
export function placesIn(
  requests: readonly CountRequest[],
  groups: ReadonlyMap<string, { k: number }>,
  counts: ReadonlyMap<string, readonly number[]>,
): number[][] {
  const handedOut = new Map<string, number>();
  return requests.map(({ clientId, cost }) => {
    const through = (handedOut.get(clientId) ?? 0) + cost;
    handedOut.set(clientId, through);
    const { k } = groups.get(clientId)!;
    return counts.get(clientId)!.map((n) => n - k + through);
  });
}
