import { ServiceUnavailable } from '../../errors.js';

/** The seconds a 503 asks a caller to wait: the database's bound, at least one. */
export const retryAfterSeconds = (timeoutMs: number) => Math.max(1, Math.ceil(timeoutMs / 1000));

/** A driver's failure that says the database is out of reach (not a refusal of the statement). */
export type IsOutOfReach = (err: unknown) => boolean;

/**
 * Runs one statement on `connection` with a bound: when the database gives no
 * answer in `timeoutMs` (stopped, frozen, a network path that dropped its
 * packets), the connection is ended, so the pool never hands it out again,
 * and the statement fails as ServiceUnavailable. A failure that means the
 * database is out of reach fails the same way; any other error is the statement's own.
 */
export function bounded<T>(
  run: Promise<T>,
  { timeoutMs, outOfReach, end }: { timeoutMs: number; outOfReach: IsOutOfReach; end: () => void },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      end();
      reject(new ServiceUnavailable(retryAfterSeconds(timeoutMs)));
    }, timeoutMs);
    run.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(unavailableIf(err, outOfReach, timeoutMs));
      },
    );
  });
}

/** `err` as ServiceUnavailable when it means the database is out of reach; else `err` itself. */
export function unavailableIf(err: unknown, outOfReach: IsOutOfReach, timeoutMs: number): unknown {
  return err instanceof ServiceUnavailable || !outOfReach(err)
    ? err
    : new ServiceUnavailable(retryAfterSeconds(timeoutMs));
}
