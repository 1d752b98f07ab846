import { describe, expect, it } from 'vitest';
import { createBcryptGate } from '../../src/limits/bcrypt-gate.js';

describe('the bcrypt gate', () => {
  it('runs at most maxInFlight checks, queues maxWaiting, refuses the rest at once', async () => {
    const gate = createBcryptGate({ maxInFlight: 2, maxWaiting: 1 });
    const releases: Array<() => void> = [];
    const check = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));

    const runs = [gate.run('a', check), gate.run('a', check), gate.run('a', check)];
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(1);
    expect(await gate.run('a', check)).toBeUndefined();

    releases.shift()!();
    await runs[0];
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(0);
    while (releases.length) releases.shift()!();
    await new Promise((r) => setImmediate(r));
    while (releases.length) releases.shift()!();
    expect(await Promise.all(runs)).toEqual(['done', 'done', 'done']);
    expect(gate.inFlight).toBe(0);
  });

  it('one source cannot take the whole queue', async () => {
    const gate = createBcryptGate({ maxInFlight: 1, maxWaiting: 10, maxWaitingPerSource: 2 });
    const releases: Array<() => void> = [];
    const check = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));
    const flood = [gate.run('flood', check), gate.run('flood', check), gate.run('flood', check)];
    expect(await gate.run('flood', check)).toBeUndefined();
    const legit = gate.run('legit', check);
    expect(gate.waiting).toBe(3);
    for (let i = 0; i < 4; i++) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await legit).toBe('done');
    expect(await Promise.all(flood)).toEqual(['done', 'done', 'done']);
  });

  it('a source gets back one place of its share each time one of its waiting checks starts, and no more', async () => {
    const gate = createBcryptGate({ maxInFlight: 1, maxWaiting: 10, maxWaitingPerSource: 2 });
    const releases: Array<() => void> = [];
    const check = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));
    const runs = [gate.run('other', check), gate.run('a', check), gate.run('a', check)];
    expect(await gate.run('a', check)).toBeUndefined();
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    // One of a's two waiting checks is running: a has one place again, and only one.
    runs.push(gate.run('a', check));
    expect(gate.waiting).toBe(2);
    expect(await gate.run('a', check)).toBeUndefined();
    while (gate.inFlight > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(runs)).toEqual(['done', 'done', 'done', 'done']);
  });

  it('frees the slot when a check throws', async () => {
    const gate = createBcryptGate({ maxInFlight: 1, maxWaiting: 0 });
    await expect(gate.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('a', async () => 'ok')).toBe('ok');
  });
});
