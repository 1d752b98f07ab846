import type { PassedTime, PassedTimeKind, PassedTimeStore } from '../../events/passed-times.js';
import type { Tx } from '../../unit-of-work.js';
import { isDuplicateKeyError, type Db } from './knex.js';

/** The o_auth_clients column holding each kind's moment. */
const COLUMN: Record<PassedTimeKind, string> = {
  expiry: 'expires_at',
  grace_end: 'previous_secret_expires_at',
};
const KINDS = Object.keys(COLUMN) as PassedTimeKind[];

/**
 * PassedTimeStore on o_auth_clients and key_events: a moment is pushed once
 * a key_events row names it (unique per client, kind and moment), so a push
 * is one INSERT, atomic on every database, and a second one is a duplicate.
 */
export function createSqlPassedTimeStore(db: Db): PassedTimeStore {
  return {
    async due(fromS, toS, limit) {
      const found: PassedTime[] = [];
      for (const kind of KINDS) {
        const at = COLUMN[kind];
        const rows = (await db('o_auth_clients as c')
          .where(`c.${at}`, '>', fromS)
          .andWhere(`c.${at}`, '<=', toS)
          .whereNotExists((q) =>
            q
              .select('e.id')
              .from('key_events as e')
              .whereRaw('e.client_id = c.client_id')
              .andWhere('e.moment_kind', kind)
              .andWhereRaw(`e.moment_at = c.${at}`),
          )
          .orderBy(`c.${at}`)
          .limit(limit)
          .select('c.client_id', 'c.team_id', `c.${at} as at`)) as Array<{
          client_id: string;
          team_id: number | string | null;
          at: number | string;
        }>;
        for (const row of rows)
          found.push({
            clientId: row.client_id,
            teamId: row.team_id === null ? null : Number(row.team_id),
            kind,
            atS: Number(row.at),
          });
      }
      return found.sort((x, y) => x.atS - y.atS).slice(0, limit);
    },

    async push(moment, nowMs, alsoInTx) {
      try {
        await db.transaction(async (trx) => {
          await trx('key_events').insert({
            client_id: moment.clientId,
            created_at_ms: nowMs,
            moment_kind: moment.kind,
            moment_at: moment.atS,
          });
          if (alsoInTx) await alsoInTx(trx as unknown as Tx);
        });
        return true;
      } catch (err) {
        // Another process (or an earlier run) pushed this moment: its row is the one change.
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
  };
}
