/**
 * A circuit breaker in front of Redis. Each call either reaches Redis or, when
 * Redis fails (a timeout, a refused connection) or the breaker is open, is
 * answered by its fallback, the database. After `failures` failures in a row
 * the breaker opens: no call reaches Redis, and a probe every
 * `probeEveryMs` closes it again once Redis answers. Keyport degrades, it
 * never waits on a Redis that is gone or frozen.
 */
export interface Breaker {
  /** False while the breaker is open (Redis is being left alone). */
  readonly up: boolean;
  /** Calls answered by their fallback because Redis failed or the breaker was open. */
  readonly fellBack: number;
  run<T>(attempt: () => Promise<T>, fallback: () => T | Promise<T>): Promise<T>;
  /** Whether `attempt` succeeds, counted like any call (a health check): false at once while open. */
  check(attempt: () => Promise<unknown>): Promise<boolean>;
  stop(): void;
}

export interface BreakerOptions {
  readonly failures: number;
  readonly probeEveryMs: number;
  /** Resolves when Redis answers (a PING), rejects when it does not. */
  readonly probe: () => Promise<unknown>;
  /** Told when the breaker opens (false) or closes (true). */
  readonly onChange?: (up: boolean) => void;
}

export function createBreaker({ failures, probeEveryMs, probe, onChange }: BreakerOptions): Breaker {
  let inARow = 0;
  let open = false;
  let fellBack = 0;
  let probing = false;
  let timer: NodeJS.Timeout | undefined;

  const close = () => {
    inARow = 0;
    if (!open) return;
    open = false;
    clearInterval(timer);
    onChange?.(true);
  };
  const trip = () => {
    if (open) return;
    open = true;
    onChange?.(false);
    timer = setInterval(() => {
      if (probing) return;
      probing = true;
      probe()
        .then(close, () => undefined)
        .finally(() => (probing = false));
    }, probeEveryMs);
    timer.unref();
  };

  const failed = () => {
    if (++inARow >= failures) trip();
  };

  return {
    get up() {
      return !open;
    },
    get fellBack() {
      return fellBack;
    },
    async run(attempt, fallback) {
      if (!open) {
        try {
          const value = await attempt();
          inARow = 0;
          return value;
        } catch {
          failed();
        }
      }
      fellBack++;
      return fallback();
    },
    async check(attempt) {
      if (open) return false;
      try {
        await attempt();
        inARow = 0;
        return true;
      } catch {
        failed();
        return false;
      }
    },
    stop: () => clearInterval(timer),
  };
}
