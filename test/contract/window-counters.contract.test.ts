import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createAuthFailures } from '../../src/limits/auth-failures.js';
import type { WindowCounterStore } from '../../src/limits/counter-store.js';
import {
  createSignInThrottle,
  SIGN_IN_SLOW_DOWN_MAX_MS,
  SIGN_IN_WINDOW_SECONDS,
} from '../../src/limits/sign-in-throttle.js';
import { createRedisWindowCounters } from '../../src/persistence/redis/window-counters.js';
import { createSqlWindowCounters } from '../../src/persistence/sql/window-counters.js';
import { storeTargets, type OpenStore } from './targets.js';

const clock = manualClock(1_900_000_000_000);
const TARGETS = storeTargets<WindowCounterStore>(
  'the failure and sign-in throttles',
  { sql: createSqlWindowCounters, redis: createRedisWindowCounters },
  clock,
);
const MINUTE = 60_000;
const config = loadConfig({
  env: {},
  overrides: {
    issuer: 'http://127.0.0.1',
    database_url: 'sqlite::memory:',
    auth_failures: { per_client: 3, per_address: 50, window_seconds: 300 },
  },
});

describe.each(TARGETS)('window counter store contract on $name', (target) => {
  let open: OpenStore<WindowCounterStore>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('counts 20 concurrent adds exactly, each answered its own count', async () => {
    const counts = await Promise.all(Array.from({ length: 20 }, () => open.store.add('busy', 1, MINUTE)));
    expect(counts.map((c) => c.points).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await open.store.get('busy'))?.points).toBe(20);
  });

  it('two processes adding to one key concurrently lose nothing', async () => {
    const other = open.another(clock);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : open.store).add('shared', 1, MINUTE)));
    expect((await other.get('shared'))?.points).toBe(20);
  });

  it('a key without a count reads as none; a count reads with the time left in its window', async () => {
    expect(await open.store.get('nobody')).toBeUndefined();
    await open.store.add('fresh', 2, MINUTE);
    clock.advance(10_000);
    expect(await open.store.get('fresh')).toEqual({ points: 2, msLeft: 50_000 });
  });

  it('a window passes by the clock: the count is gone and the next add starts a new window', async () => {
    await open.store.add('window', 3, MINUTE);
    clock.advance(MINUTE - 1);
    expect((await open.store.get('window'))?.points).toBe(3);
    // A later add keeps the window it joined.
    expect(await open.store.add('window', 1, MINUTE)).toEqual({ points: 4, msLeft: 1 });
    clock.advance(1);
    expect(await open.store.get('window')).toBeUndefined();
    expect(await open.store.add('window', 1, MINUTE)).toEqual({ points: 1, msLeft: MINUTE });
  });

  it('a negative add takes points back; delete clears the key', async () => {
    await open.store.add('refund', 2, MINUTE);
    expect((await open.store.add('refund', -1, MINUTE)).points).toBe(1);
    await open.store.delete('refund');
    expect(await open.store.get('refund')).toBeUndefined();
  });

  it('expired counters are deleted by the sweep, live ones kept', async () => {
    await open.store.add('old', 3, 1000);
    await open.store.add('live', 3, MINUTE);
    clock.advance(1001);
    const deleted = await open.store.deleteExpired();
    if (open.db) {
      // Redis lets each key expire instead.
      expect(deleted).toBeGreaterThanOrEqual(1);
      expect(await open.db('rate_limits').where({ key: 'old' }).first()).toBeUndefined();
    }
    expect(await open.store.get('old')).toBeUndefined();
    expect((await open.store.get('live'))?.points).toBe(3);
  });

  it('client authentication failures throttle a client_id at an address until the window passes', async () => {
    const failures = createAuthFailures(open.store, config, clock);
    const key = { clientId: 'c1', address: '192.0.2.1' };
    for (let i = 0; i < 3; i++) await failures.failed(key);
    expect(await failures.retryAfter(key, { exact: true })).toBe(300);
    // Another address is not throttled: a client_id alone is no secret.
    expect(await failures.retryAfter({ ...key, address: '192.0.2.2' }, { exact: true })).toBe(0);
    clock.advance(299_000);
    expect(await failures.retryAfter(key, { exact: true })).toBe(1);
    clock.advance(1000);
    expect(await failures.retryAfter(key, { exact: true })).toBe(0);
  });

  it('sign-ins: the sixth attempt for an account from one address is refused; other addresses are slowed, never refused; a success clears it', async () => {
    const failures = createAuthFailures(open.store, config, clock);
    const signIns = createSignInThrottle(open.store, failures, 64);
    const tries = [];
    for (let i = 0; i < 6; i++) {
      const reserved = await signIns.reserve('198.51.100.1', 'ada@example.com');
      tries.push(reserved);
      if ('delayMs' in reserved) await signIns.failed('198.51.100.1', 'ada@example.com');
    }
    expect(tries).toEqual([...Array(5).fill({ delayMs: 0 }), { retryAfter: SIGN_IN_WINDOW_SECONDS }]);
    const slowed = [];
    for (let i = 2; i < 20; i++) {
      slowed.push(await signIns.reserve(`198.51.100.${i}`, 'ada@example.com'));
      await signIns.failed(`198.51.100.${i}`, 'ada@example.com');
    }
    expect(slowed.every((r) => 'delayMs' in r)).toBe(true);
    expect(slowed.at(-1)).toEqual({ delayMs: SIGN_IN_SLOW_DOWN_MAX_MS });
    await signIns.succeeded('198.51.100.1', 'ada@example.com');
    expect(await signIns.reserve('198.51.100.1', 'ada@example.com')).toEqual({ delayMs: 0 });
  });
});
