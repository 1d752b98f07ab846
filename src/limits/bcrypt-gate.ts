import { DEFAULT_IPV6_THROTTLE_PREFIX, sourceOf } from './source-address.js';

/**
 * Bounds the bcrypt work in flight. Each check costs ~70 ms of a libuv
 * thread; without a bound, a flood of wrong secrets queues thousands of
 * checks ahead of every legitimate client. At most `maxInFlight` checks run;
 * each source (address, an IPv6 one by its network) may have at most `maxWaitingPerSource` waiting, and
 * all sources together `maxWaiting`; past that a check is refused at once
 * (429, retry in a second), so one flooding address fills its own share of
 * the queue and nobody else's.
 */
export interface BcryptGate {
  /** Runs `check` when a slot is free; returns undefined when refused. */
  run<T>(source: string, check: () => Promise<T>): Promise<T | undefined>;
  readonly inFlight: number;
  readonly waiting: number;
  /** Checks run since start (for metrics, and for tests that must see none ran). */
  readonly started: number;
}

export function createBcryptGate({
  maxInFlight = 4,
  maxWaiting = 64,
  maxWaitingPerSource = 8,
  ipv6Prefix = DEFAULT_IPV6_THROTTLE_PREFIX,
} = {}): BcryptGate {
  let inFlight = 0;
  let started = 0;
  const queue: Array<{ source: string; start: () => void }> = [];
  const waitingBySource = new Map<string, number>();

  const release = () => {
    inFlight -= 1;
    const next = queue.shift();
    if (!next) return;
    const left = (waitingBySource.get(next.source) ?? 1) - 1;
    if (left > 0) waitingBySource.set(next.source, left);
    else waitingBySource.delete(next.source);
    inFlight += 1;
    next.start();
  };

  return {
    async run(address, check) {
      // An IPv6 address waits in its network's share (source-address.ts).
      const source = sourceOf(address, ipv6Prefix);
      if (inFlight >= maxInFlight) {
        const mine = waitingBySource.get(source) ?? 0;
        if (queue.length >= maxWaiting || mine >= maxWaitingPerSource) return undefined;
        waitingBySource.set(source, mine + 1);
        await new Promise<void>((start) => queue.push({ source, start }));
      } else {
        inFlight += 1;
      }
      started += 1;
      try {
        return await check();
      } finally {
        release();
      }
    },
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
    get started() {
      return started;
    },
  };
}
