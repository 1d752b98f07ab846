import { describe, expect, it } from 'vitest';
import { createWriteBehind } from '../../src/clients/write-behind.js';

type Count = { n: number };
const merge = (into: Count, from: Count) => void (into.n += from.n);

describe('the write-behind buffer', () => {
  it('merges entries under one key and writes them in one batch', async () => {
    const written: Array<Record<string, number>> = [];
    const buffer = createWriteBehind<Count>({
      write: async (batch) => void written.push(Object.fromEntries([...batch].map(([k, v]) => [k, v.n]))),
      merge,
      weigh: (c) => c.n,
      flushEveryMs: 60_000,
    });
    buffer.add('a', { n: 1 });
    buffer.add('a', { n: 2 });
    buffer.add('b', { n: 1 });
    expect(buffer.unwritten).toBe(4);
    await buffer.close();
    expect(written).toEqual([{ a: 3, b: 1 }]);
    expect(buffer.unwritten).toBe(0);
  });

  it('is bounded: at maxEntries keys it writes at once, and drops (and counts) a new key it cannot hold', async () => {
    let fail = true;
    const written: string[] = [];
    const errors: Error[] = [];
    const buffer = createWriteBehind<Count>({
      write: async (batch) => {
        if (fail) throw new Error('database away');
        written.push(...batch.keys());
      },
      merge,
      weigh: (c) => c.n,
      flushEveryMs: 60_000,
      maxEntries: 3,
      onError: (err) => errors.push(err),
    });
    buffer.add('a', { n: 1 });
    buffer.add('b', { n: 1 });
    buffer.add('c', { n: 1 }); // full: a write starts now
    buffer.add('d', { n: 5 }); // no room while it is written: dropped, and counted
    expect(buffer.dropped).toBe(5);
    expect(buffer.unwritten).toBe(3 + 5);
    await buffer.flush();
    // The failed write gave its entries back: they wait for the next flush.
    expect(errors).toHaveLength(1);
    expect(buffer.unwritten).toBe(3 + 5);
    fail = false;
    await buffer.close();
    expect(written.sort()).toEqual(['a', 'b', 'c']);
    expect(buffer.unwritten).toBe(5);
  });
});
