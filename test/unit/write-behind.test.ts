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
    // The failed write kept its entries: this flush tried them again, and they wait for the next one.
    expect(errors).toHaveLength(2);
    expect(buffer.unwritten).toBe(3 + 5);
    fail = false;
    await buffer.close();
    expect(written.sort()).toEqual(['a', 'b', 'c']);
    expect(buffer.unwritten).toBe(5);
  });

  it('writes a failed batch again unchanged, under the same id, before what came after it', async () => {
    let fail = true;
    const tries: Array<{ id: string; batch: Record<string, number> }> = [];
    const buffer = createWriteBehind<Count>({
      write: async (batch, id) => {
        tries.push({ id, batch: Object.fromEntries([...batch].map(([k, v]) => [k, v.n])) });
        if (fail) throw new Error('COMMIT sent, no answer');
      },
      merge,
      weigh: (c) => c.n,
      flushEveryMs: 60_000,
    });
    buffer.add('a', { n: 2 });
    await buffer.flush();
    // What comes in while the failed batch waits goes with a batch of its own: the failed one keeps what its id names.
    buffer.add('a', { n: 1 });
    buffer.add('b', { n: 1 });
    await buffer.flush();
    expect(buffer.unwritten).toBe(4);
    fail = false;
    await buffer.close();
    expect(buffer.unwritten).toBe(0);
    const [first, retried, last] = [tries[0]!, tries[tries.length - 2]!, tries[tries.length - 1]!];
    expect(tries).toHaveLength(4);
    expect(retried).toEqual(first);
    expect(first.batch).toEqual({ a: 2 });
    expect(last.batch).toEqual({ a: 1, b: 1 });
    expect(last.id).not.toBe(first.id);
  });

  it('full counts a failed batch waiting for its retry: reaching maxEntries with it starts a write at once', async () => {
    let fail = true;
    const written: string[][] = [];
    const buffer = createWriteBehind<Count>({
      write: async (batch) => {
        if (fail) throw new Error('database away');
        written.push([...batch.keys()]);
      },
      merge,
      flushEveryMs: 60_000,
      maxEntries: 3,
    });
    buffer.add('a', { n: 1 });
    buffer.add('b', { n: 1 });
    await buffer.flush();
    fail = false;
    buffer.add('c', { n: 1 }); // 2 waiting for their retry + 1: full
    for (let i = 0; i < 5 && written.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(written).toEqual([['a', 'b'], ['c']]);
    expect(buffer.dropped).toBe(0);
    await buffer.close();
  });
});
