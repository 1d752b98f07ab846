import type { LimitNoticeStore } from '../../events/limit-notices.js';
import { isDuplicateKeyError, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

const NOTICES = 'key_rate_limit_notices';

/** LimitNoticeStore on key_rate_limit_notices and o_auth_clients.credits_low_at. */
export function createSqlLimitNoticeStore(db: Db, creditsLowThreshold: number): LimitNoticeStore {
  return {
    async claimRateLimited(clientId, windowEndS, nowMs, tx) {
      try {
        await sqlOf(db, tx)(NOTICES).insert({ client_id: clientId, window_end: windowEndS, created_at: nowMs });
        return true;
      } catch (err) {
        // Another process (or this one, before a restart) announced this window: its row is the one notice.
        // The caller rolls the transaction back (PostgreSQL has aborted it).
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    async claimCreditsLow(clientId, nowMs, tx) {
      const changed = await sqlOf(
        db,
        tx,
      )('o_auth_clients')
        .where({ client_id: clientId })
        .whereNull('credits_low_at')
        .andWhere('credits_remaining', '<', creditsLowThreshold)
        .update({ credits_low_at: nowMs });
      return changed === 1;
    },
    deleteEndedWindows: (beforeS) => db(NOTICES).where('window_end', '<', beforeS).delete(),
  };
}
