import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { PlanCounterStore } from '../../src/limits/plan-counter-store.js';
import { createPlanLimits, deleteIdleCounters } from '../../src/limits/plan-limits.js';
import { createSqlPlanCounters } from '../../src/persistence/sql/plan-counters.js';
import { storeTargets, type OpenStore } from './targets.js';

const config = loadConfig({
  env: {},
  overrides: {
    issuer: 'http://127.0.0.1',
    database_url: 'sqlite::memory:',
    rate_limit_windows_seconds: [60, 3600, 86400],
  },
});
const TARGETS = storeTargets<PlanCounterStore>('plan counters', {
  sql: (db) => createSqlPlanCounters(db),
});
// Aligned to every window, far from "now", so no two tests share a window.
const DAY = 86_400;
let nextDay = 20_000;
const freshStarts = () => {
  const start = nextDay++ * DAY;
  return [start, start, start];
};

describe.each(TARGETS)('plan counter store contract on $name', (target) => {
  let open: OpenStore<PlanCounterStore>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('counts 20 concurrent requests exactly: each gets its own place, and the next is the 21st', async () => {
    const starts = freshStarts();
    const places = await Promise.all(Array.from({ length: 20 }, () => open.store.count('busy', starts, 1)));
    expect(places.map((p) => p[0]).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await open.store.count('busy', starts, 1)).toEqual([21, 21, 21]);
  });

  it('two processes counting one client concurrently lose no request', async () => {
    const starts = freshStarts();
    const other = open.another();
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : open.store).count('shared', starts, 1)));
    expect(await open.store.count('shared', starts, 1)).toEqual([21, 21, 21]);
  });

  it('keeps clients apart and adds a request’s cost', async () => {
    const starts = freshStarts();
    const [a, b] = await Promise.all([open.store.count('a', starts, 3), open.store.count('b', starts, 1)]);
    expect(a).toEqual([3, 3, 3]);
    expect(b).toEqual([1, 1, 1]);
  });

  it('a window that has passed starts from zero while the longer ones go on', async () => {
    const starts = freshStarts();
    await open.store.count('windows', starts, 5);
    expect(await open.store.count('windows', [starts[0]! + 60, starts[1]!, starts[2]!], 1)).toEqual([1, 6, 6]);
  });

  it('read looks without counting: a client never counted reads 0, an ended window reads 0', async () => {
    const starts = freshStarts();
    expect(await open.store.read('looked-at', starts)).toEqual([0, 0, 0]);
    await open.store.count('looked-at', starts, 4);
    expect(await open.store.read('looked-at', starts)).toEqual([4, 4, 4]);
    expect(await open.store.read('looked-at', starts)).toEqual([4, 4, 4]);
    expect(await open.store.read('looked-at', [starts[0]! + 60, starts[1]!, starts[2]!])).toEqual([0, 4, 4]);
    expect(await open.store.count('looked-at', starts, 1)).toEqual([5, 5, 5]);
  });

  it('plan limits over the store: a request over the minute’s budget is refused until the clock passes the minute', async () => {
    const clock = manualClock(freshStarts()[0]! * 1000);
    const limits = createPlanLimits(open.store, config, clock);
    const budget = [2, 100, 1000] as const;
    expect((await limits.consume('expiry', budget)).allowed).toBe(true);
    expect((await limits.consume('expiry', budget)).allowed).toBe(true);
    const refused = await limits.consume('expiry', budget);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfter).toBe(60);
    clock.advance(30_000);
    expect((await limits.consume('expiry', budget)).retryAfter).toBe(30);
    clock.advance(30_000);
    const again = await limits.consume('expiry', budget);
    expect(again.allowed).toBe(true);
    expect(again.headers['X-RateLimit-Remaining']).toBe('1');
  });

  it('the sweep deletes clients idle for a whole day and keeps the others', async () => {
    const clock = manualClock(freshStarts()[0]! * 1000);
    const limits = createPlanLimits(open.store, config, clock);
    await limits.consume('idle', [10, 10, 10]);
    clock.advance(DAY * 1000);
    await limits.consume('live', [10, 10, 10]);
    clock.advance(DAY * 1000);
    const deleted = await deleteIdleCounters(open.store, config, clock);
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await open.db!('plan_counters').where({ client_id: 'idle' }).first()).toBeUndefined();
    expect(await open.db!('plan_counters').where({ client_id: 'live' }).first()).toBeDefined();
    expect((await limits.consume('idle', [10, 10, 10])).headers['X-RateLimit-Remaining']).toBe('9');
  });
});
