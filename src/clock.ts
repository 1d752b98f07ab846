/**
 * Time as keyport reads it. Services and stores take a `Clock` instead of
 * calling `Date.now()`, so a test moves time by passing its own clock rather
 * than by editing rows.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whole seconds since the epoch, as keyport stores times. */
export function secondsOf(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/** A clock a test sets and moves by hand. */
export function manualClock(startMs = Date.now()): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    advance: (ms) => void (now += ms),
    set: (ms) => void (now = ms),
  };
}
