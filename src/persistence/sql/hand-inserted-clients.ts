import type { Knex } from 'knex';
import { kindOfRow } from '../../clients/kinds.js';
import { insertId, type Db } from './knex.js';

const SERVICE_ACCOUNT_KINDS = ['service_account', 'service_account_jwt'];

/** Thrown inside an adoption's transaction when another process adopted the row first: roll back, skip it. */
class AdoptedElsewhere extends Error {}

/**
 * Makes the team's rows inserted by hand (the support runbook writes only
 * client_id, a hash or a PEM, maybe redirect_uri, and team_id) first-class:
 * each gets its kind, a created time (the row's, else its first recorded use,
 * else now) and, for a service account, a service-account user in the team,
 * as `serviceaccountadd` makes. One transaction per row; a row another
 * process adopted meanwhile is left as that process wrote it. The ids adopted.
 */
export async function adoptHandInsertedClients(db: Db, teamId: number, now: number): Promise<string[]> {
  const rows = await db('o_auth_clients')
    .where({ team_id: teamId })
    .andWhere((q) =>
      q
        .whereNull('kind')
        .orWhereNull('created_at')
        .orWhere((sa) => sa.whereNull('user_id').whereIn('kind', SERVICE_ACCOUNT_KINDS)),
    )
    .select('client_id', 'kind', 'name', 'client_r_s_a_public_key', 'redirect_uri', 'created_at', 'last_used_at');
  const adopted: string[] = [];
  for (const row of rows) {
    const kind = kindOfRow(row);
    const createdAt = Number(row.created_at ?? row.last_used_at ?? now);
    try {
      await db.transaction(async (t: Knex) => {
        let userId: number | undefined;
        if (SERVICE_ACCOUNT_KINDS.includes(kind)) {
          userId = await insertId(
            t,
            t('users').insert({ kind: 'service_account', name: row.name ?? row.client_id, created_at: now }),
          );
          await t('team_memberships').insert({ team_id: teamId, user_id: userId, role: 'member', created_at: now });
        }
        const updated = await t('o_auth_clients')
          .where({ client_id: row.client_id, team_id: teamId })
          .andWhere((q) =>
            userId === undefined ? q.whereNull('kind').orWhereNull('created_at') : q.whereNull('user_id'),
          )
          .update({
            kind,
            created_at: t.raw('COALESCE(created_at, ?)', [createdAt]),
            ...(userId === undefined ? {} : { user_id: userId }),
          });
        if (updated === 0) throw new AdoptedElsewhere();
      });
      adopted.push(row.client_id);
    } catch (err) {
      if (!(err instanceof AdoptedElsewhere)) throw err;
    }
  }
  return adopted;
}
