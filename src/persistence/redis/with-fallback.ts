import type { WindowCounterStore } from '../../limits/counter-store.js';
import type { VerificationMarks } from '../../clients/verified-secrets.js';
import type { Breaker } from './breaker.js';

/**
 * Window counters (failure and sign-in throttles) in Redis, and in the
 * database whenever Redis fails or the breaker is open: a throttle keeps
 * counting through an outage, so a guesser gains nothing by it. What Redis
 * counted before an outage is not carried into the database (nor back): a
 * throttle's window is minutes, and the worst case is one fresh window.
 */
export function windowCountersWithFallback(
  breaker: Breaker,
  redis: WindowCounterStore,
  database: WindowCounterStore,
): WindowCounterStore {
  return {
    get: (key) =>
      breaker.run(
        () => redis.get(key),
        () => database.get(key),
      ),
    add: (key, points, windowMs) =>
      breaker.run(
        () => redis.add(key, points, windowMs),
        () => database.add(key, points, windowMs),
      ),
    delete: (key) =>
      breaker.run(
        () => redis.delete(key),
        () => database.delete(key),
      ),
    // Redis expires its own; what an outage wrote to the database is swept there.
    deleteExpired: () => database.deleteExpired(),
  };
}

/**
 * Shared verifications while Redis fails: nothing is marked, so the secret
 * is checked with bcrypt again. Never a verification taken on trust.
 */
export function verificationMarksWithFallback(breaker: Breaker, redis: VerificationMarks): VerificationMarks {
  return {
    firstMarked: (keys) =>
      breaker.run(
        () => redis.firstMarked(keys),
        () => -1,
      ),
    mark: (key, ttlMs) =>
      breaker.run(
        () => redis.mark(key, ttlMs),
        () => undefined,
      ),
  };
}
