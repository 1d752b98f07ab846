import { ServiceUnavailable } from '../../errors.js';

/**
 * How often a transaction or statement that lost a write conflict is run: a
 * multi-primary cluster (MariaDB Galera) certifies each transaction at commit
 * and aborts the one that lost with a deadlock error, whatever locks it held on
 * its own node; a single server answers a deadlock the same way.
 */
export const CONFLICT_ATTEMPTS = 10;

/** How many conflicts one database handle has retried (keyport_database_conflicts_retried_total). */
export interface ConflictCount {
  retried: number;
}

/**
 * Runs `run`, and again while it fails with a conflict (`isConflict`: the
 * database rolled the work back, so running it again is safe), after a short
 * random pause that grows with each attempt, so two losers do not collide
 * again in step. A conflict that outlasts every attempt answers 503.
 */
export async function retryConflicts<T>(
  run: () => Promise<T>,
  { isConflict, count }: { isConflict: (err: unknown) => boolean; count: ConflictCount },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= CONFLICT_ATTEMPTS) throw new ServiceUnavailable(1);
      count.retried += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
}
