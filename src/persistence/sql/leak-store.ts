import type { LeakedKeyAction, LeakStore } from '../../clients/leak-store.js';
import { isDuplicateKeyError, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

/** LeakStore on leak_reports and teams.leaked_key_action. */
export function createSqlLeakStore(db: Db): LeakStore {
  return {
    async remember({ digest, scanner, tokens, at }, tx) {
      try {
        await sqlOf(db, tx)('leak_reports').insert({ body_digest: digest, scanner, tokens, received_at: at });
        return true;
      } catch (err) {
        // The primary key: this body was acted on before, or is being acted on by a racing copy.
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },

    async actionOf(teamId, tx) {
      const row = (await sqlOf(db, tx)('teams').where({ id: teamId }).first('leaked_key_action')) as
        { leaked_key_action: string } | undefined;
      return row?.leaked_key_action === 'flag' ? 'flag' : 'revoke';
    },

    async setAction(teamId, action: LeakedKeyAction) {
      return (await db('teams').where({ id: teamId }).update({ leaked_key_action: action })) > 0;
    },
  };
}
