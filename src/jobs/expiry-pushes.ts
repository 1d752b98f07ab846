import { secondsOf, type Clock } from '../clock.js';
import type { PassedTime, PassedTimeStore } from '../events/passed-times.js';
import type { Tx } from '../unit-of-work.js';

/** Told of each moment pushed, inside the push's transaction (the `key.expired` webhook). */
export type PassedTimeSubscriber = (moment: PassedTime, tx: Tx) => Promise<void>;

/** How many moments one run pushes; the rest wait for the next run. */
const BATCH = 500;

/**
 * How far before the previous run each run looks again: a change committed
 * late (an expiry set to a moment just passed), or another host's clock
 * running behind, is still pushed. What was pushed already is skipped.
 */
const LOOKBACK_S = 60;

/**
 * A process that starts pushes what passed this long ago too (while no
 * process ran). Well inside the hour change rows are kept: a moment's row
 * is what says it was pushed, so it must outlive the window.
 */
const START_LOOKBACK_S = 1800;

/**
 * One run: every key whose `expires_at` or grace-period end passed after
 * `fromS` and was not pushed yet gets one change on the guards' feed. Safe
 * to run in several processes at once: each moment is pushed by one of them.
 * Answers the moments this run pushed.
 */
export async function pushPassedTimes(
  store: PassedTimeStore,
  { fromS, clock, onPushed }: { fromS: number; clock: Clock; onPushed?: PassedTimeSubscriber },
): Promise<PassedTime[]> {
  const pushed: PassedTime[] = [];
  for (const moment of await store.due(fromS, secondsOf(clock), BATCH)) {
    const also = onPushed ? (tx: Tx) => onPushed(moment, tx) : undefined;
    if (await store.push(moment, clock.now(), also)) pushed.push(moment);
  }
  return pushed;
}

/**
 * Runs `pushPassedTimes` every `everyMs`, each run looking back from the
 * previous one; a failed run is reported and the next one looks back further.
 */
export function startExpiryPushes(
  store: PassedTimeStore,
  {
    everyMs,
    clock,
    onError,
    onPushed,
  }: { everyMs: number; clock: Clock; onError: (err: Error) => void; onPushed?: PassedTimeSubscriber },
): { stop(): void } {
  let fromS = secondsOf(clock) - START_LOOKBACK_S;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const startedS = secondsOf(clock);
    pushPassedTimes(store, { fromS, clock, ...(onPushed ? { onPushed } : {}) })
      .then((pushed) => {
        // A full batch leaves more behind: the next run starts from the same moment.
        if (pushed.length < BATCH) fromS = startedS - LOOKBACK_S;
      })
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
