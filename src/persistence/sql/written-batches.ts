import type { Knex } from 'knex';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import { deleteInBatches } from './batched-delete.js';
import { isDuplicateKeyError, type Db } from './knex.js';

const TABLE = 'written_batches';

/** How long a written batch's id is kept: a batch is retried within seconds of the database answering again. */
export const WRITTEN_BATCHES_KEPT_SECONDS = 86_400;

class AlreadyWritten extends Error {}

/**
 * Runs `work` in one transaction that also stores `batchId`, unless a
 * transaction with that id was committed before: then it does nothing.
 * A write whose COMMIT got no answer (the network path stalled, or the
 * server committed and the answer was lost) fails for the caller although
 * the database may have committed it; writing it again under the same id is
 * then safe, so counts added by `work` are added exactly once. Two tries of
 * one id at once (the first still committing) meet on the primary key: the
 * second waits for the first and then finds it written.
 */
export async function writeOnce(
  db: Db,
  batchId: string,
  work: (trx: Knex.Transaction) => Promise<void>,
  clock: Clock = systemClock,
): Promise<void> {
  try {
    await db.transaction(async (trx) => {
      try {
        await trx(TABLE).insert({ id: batchId, written_at: secondsOf(clock) });
      } catch (err) {
        if (isDuplicateKeyError(err)) throw new AlreadyWritten(batchId);
        throw err;
      }
      await work(trx);
    });
  } catch (err) {
    if (!(err instanceof AlreadyWritten)) throw err;
  }
}

/** Deletes the ids of batches written more than a day ago (the sweep). */
export function deleteOldWrittenBatches(db: Db, clock: Clock = systemClock): Promise<number> {
  return deleteInBatches(db, {
    table: TABLE,
    key: ['id'],
    where: (rows) => rows.where('written_at', '<', secondsOf(clock) - WRITTEN_BATCHES_KEPT_SECONDS),
  });
}
