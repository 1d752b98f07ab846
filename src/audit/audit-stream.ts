import type { AuditStore, StreamedAuditEvent } from './audit.js';

/**
 * How long an id skipped over is looked for again: ids can commit out of
 * order (a transaction that took id 7 may commit after the one that took 8),
 * so a gap below the last id passed on is read again for this long before
 * it is taken for an id that was never used (a rolled-back insert).
 */
const GAP_LOOKBACK_MS = 10_000;
/** At most this many gaps are remembered; the oldest are forgotten first. */
const MAX_GAPS = 1_000;
/** Rows read per poll; a stream behind by more catches up over several polls. */
const BATCH = 200;

export interface AuditFollower {
  /** An event, oldest first; each id once per stream. */
  event(event: StreamedAuditEvent): void;
  /** Every event committed before the last poll has been passed on (for keep-alives). */
  beat(): void;
  /** The stream must end (the process is stopping). */
  end(): void;
}

export interface AuditStreams {
  /**
   * Follows every team's audit events after `afterId` (a Last-Event-ID), or
   * from now when it is undefined. The answer stops it.
   */
  follow(afterId: number | undefined, follower: AuditFollower): Promise<() => void>;
  /** Streams open in this process. */
  readonly open: number;
  /** Ends every stream, and any opened later at once (shutdown). */
  close(): void;
}

/**
 * The product-wide audit stream (`GET /api/events/stream`): each follower
 * reads `audit_events` every `pollMs` from the last id it passed on, so any
 * process's writes reach it, and a follower that reconnects with its
 * Last-Event-ID misses nothing committed after it.
 */
export function createAuditStreams(
  store: AuditStore,
  { pollMs = 1_000, onError = () => undefined }: { pollMs?: number; onError?: (err: Error) => void } = {},
): AuditStreams {
  const stops = new Set<() => void>();
  let closed = false;

  return {
    async follow(afterId, follower) {
      if (closed) {
        follower.end();
        return () => undefined;
      }
      let last = afterId ?? (await store.latestId());
      /** Ids below `last` not seen yet, with when to stop looking for them. */
      const gaps = new Map<number, number>();
      let reading = false;

      async function poll() {
        if (reading) return;
        reading = true;
        try {
          const now = Date.now();
          for (const [id, until] of gaps) if (until < now) gaps.delete(id);
          const rows = await store.listAfter(last, [...gaps.keys()], BATCH);
          for (const row of rows) {
            if (gaps.delete(row.id)) {
              follower.event(row);
              continue;
            }
            if (row.id <= last) continue;
            for (let id = last + 1; id < row.id && id - last <= MAX_GAPS; id += 1) gaps.set(id, now + GAP_LOOKBACK_MS);
            last = row.id;
            follower.event(row);
          }
          while (gaps.size > MAX_GAPS) gaps.delete(gaps.keys().next().value!);
          follower.beat();
        } catch (err) {
          onError(err as Error);
        } finally {
          reading = false;
        }
      }

      const timer = setInterval(() => void poll(), pollMs);
      timer.unref();
      const stop = () => {
        clearInterval(timer);
        stops.delete(end);
      };
      const end = () => {
        stop();
        follower.end();
      };
      stops.add(end);
      void poll();
      return stop;
    },
    get open() {
      return stops.size;
    },
    close() {
      closed = true;
      for (const end of [...stops]) end();
    },
  };
}
