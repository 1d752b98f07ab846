import type { Config } from '../config.js';
import type { RevokedTokenStore } from '../clients/revoked-tokens.js';
import { deleteOldUsage } from '../clients/key-usage.js';
import type { KeyUsageStore } from '../clients/key-usage-store.js';
import type { PassedTimeStore } from '../events/passed-times.js';
import { startExpiryPushes, type PassedTimeSubscriber } from './expiry-pushes.js';
import { secondsOf, type Clock } from '../clock.js';
import { deleteOldKeyEvents, type KeyEventStore } from '../events/key-events.js';
import type { WindowCounterStore } from '../limits/counter-store.js';
import type { PlanCounterStore } from '../limits/plan-counter-store.js';
import { deleteIdleCounters } from '../limits/plan-limits.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../persistence/sql/knex.js';
import { deleteExpiredPayloads } from '../persistence/sql/oidc-adapter.js';
import { deleteOldWrittenBatches } from '../persistence/sql/written-batches.js';

export interface JobDeps {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  readonly windowCounters: WindowCounterStore;
  readonly planCounters: PlanCounterStore;
  readonly keyUsageStore: KeyUsageStore;
  readonly keyEventStore: KeyEventStore;
  /** Revoked JWT access tokens, kept until they would have expired. */
  readonly revokedTokens?: RevokedTokenStore;
  readonly passedTimes: PassedTimeStore;
  /** Told of each passed moment in its push's transaction (the `key.expired` webhook). */
  readonly onPassedTime?: PassedTimeSubscriber;
  readonly clock: Clock;
  /** Deletes the `key.rate_limited` records of windows that ended before `beforeS` (epoch seconds). */
  readonly deleteEndedLimitWindows: (beforeS: number) => Promise<unknown>;
  /**
   * Revokes the keys of expired one-time links and audits it. Handed in by
   * composition: it lives with the share pages, a surface jobs may not import.
   */
  readonly settleExpiredShares: () => Promise<unknown>;
}

export interface Jobs {
  stop(): void;
}

/**
 * The background work of a server process, not of any request: every
 * `expiredRowsSweepSeconds`, rows nothing will read again are deleted. Each
 * sweep is independent: one failing is logged and the others still run.
 */
export function startJobs(deps: JobDeps): Jobs {
  const { config, db, logger, clock } = deps;
  const report = (what: string) => (err: Error) =>
    logger.error({ err: { message: err.message } }, `deleting ${what} failed`);
  const sweeper = setInterval(() => {
    deleteExpiredPayloads(db, clock).catch(report('expired tokens'));
    deps.windowCounters.deleteExpired().catch(report('expired rate-limit counters'));
    deleteIdleCounters(deps.planCounters, config, clock).catch(report('idle plan counters'));
    deleteOldUsage(deps.keyUsageStore, clock).catch(report('API key usage older than 90 days'));
    deleteOldWrittenBatches(db, clock).catch(report('ids of usage batches written more than a day ago'));
    deleteOldKeyEvents(deps.keyEventStore, clock).catch(report('key change events older than an hour'));
    deps.revokedTokens
      ?.deleteExpired(Math.floor(clock.now() / 1000) - config.clockSkewSeconds)
      .catch(report('revocations of expired JWT access tokens'));
    deps.settleExpiredShares().catch(report('expired one-time links'));
    deps.deleteEndedLimitWindows(secondsOf(clock)).catch(report('rate-limit notices of ended windows'));
  }, config.expiredRowsSweepSeconds * 1000);
  // A sweep never keeps the process alive on its own.
  sweeper.unref();
  // Expiries and grace-period ends reach the guards within a run of passing.
  const pushes = startExpiryPushes(deps.passedTimes, {
    everyMs: config.expiryPushSeconds * 1000,
    clock,
    onError: (err) => logger.error({ err: { message: err.message } }, 'pushing expiries to guards failed'),
    ...(deps.onPassedTime ? { onPushed: deps.onPassedTime } : {}),
  });
  return {
    stop: () => {
      clearInterval(sweeper);
      pushes.stop();
    },
  };
}
