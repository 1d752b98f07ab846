/** A count within its window: how many points, and how long until the window ends. */
export interface WindowCount {
  readonly points: number;
  readonly msLeft: number;
}

/**
 * Counters that last one window from their first point (failure throttles,
 * sign-in throttles): in the database (`rate_limits`), or in Redis when
 * keyport has one (`REDIS_URL`), shared by every process either way. Time is
 * the store's clock: a window has passed when that clock says so.
 */
export interface WindowCounterStore {
  /** The count under `key` while its window lasts; undefined when there is none. */
  get(key: string): Promise<WindowCount | undefined>;
  /**
   * Adds `points` (negative: takes back) to `key` and answers the new count,
   * atomically: concurrent adds all count. A key whose window has passed, or
   * that has none, starts again at `points` with a window of `windowMs`.
   */
  add(key: string, points: number, windowMs: number): Promise<WindowCount>;
  delete(key: string): Promise<void>;
  /** Deletes the counters whose window has passed (the sweep). */
  deleteExpired(): Promise<number>;
}

/** One kind of counter in a store: keys under a prefix, at most `max` points per window. */
export interface WindowLimit {
  readonly max: number;
  get(id: string): Promise<WindowCount | undefined>;
  /** Counts one point. */
  hit(id: string): Promise<WindowCount>;
  /** Takes one point back. */
  refund(id: string): Promise<WindowCount>;
  clear(id: string): Promise<void>;
}

export function windowLimit(
  store: WindowCounterStore,
  { prefix, max, windowSeconds }: { prefix: string; max: number; windowSeconds: number },
): WindowLimit {
  const key = (id: string) => `${prefix}:${id}`;
  const windowMs = windowSeconds * 1000;
  return {
    max,
    get: (id) => store.get(key(id)),
    hit: (id) => store.add(key(id), 1, windowMs),
    refund: (id) => store.add(key(id), -1, windowMs),
    clear: (id) => store.delete(key(id)),
  };
}
