import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/batch.js';

describe('createBatcher', () => {
  it('serves the calls of one turn with one run, each getting its own answer, in order', async () => {
    const runs: number[][] = [];
    const double = createBatcher(async (keys: readonly number[]) => {
      runs.push([...keys]);
      return keys.map((k) => k * 2);
    });
    expect(await Promise.all([double(1), double(2), double(3)])).toEqual([2, 4, 6]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('never adds a call to a run already sent: a later call starts a new one', async () => {
    const runs: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const echo = createBatcher(async (keys: readonly number[]) => {
      runs.push([...keys]);
      await gate;
      return keys;
    });
    const first = echo(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = echo(2);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(runs).toEqual([[1], [2]]);
  });

  it('a failed run fails every call in it, and the next run is unaffected', async () => {
    let fail = true;
    const flaky = createBatcher(async (keys: readonly number[]) => {
      if (fail) throw new Error('database went away');
      return keys;
    });
    const results = await Promise.allSettled([flaky(1), flaky(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await flaky(3)).toBe(3);
  });

  it('splits a large turn into runs of at most maxBatch', async () => {
    const sizes: number[] = [];
    const id = createBatcher(async (keys: readonly number[]) => {
      sizes.push(keys.length);
      return keys;
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map(id));
    expect(sizes).toEqual([2, 2, 1]);
  });
});
