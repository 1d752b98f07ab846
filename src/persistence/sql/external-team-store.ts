import { createHash } from 'node:crypto';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import { Conflict } from '../../errors.js';
import type { ExternalTeamStore } from '../../teams/external-people.js';
import type { Role } from '../../teams/team.js';
import { dialectOf, type Db } from './knex.js';

/** ExternalTeamStore on teams.external_id, team_memberships and oidc_payloads (used token ids). */
export function createSqlExternalTeamStore(db: Db, clock: Clock = systemClock): ExternalTeamStore {
  const duplicate = (err: unknown) => dialectOf(db).isDuplicateKey(err);
  return {
    async setExternalId(teamId, externalId) {
      try {
        await db('teams').where({ id: teamId }).update({ external_id: externalId });
      } catch (err) {
        if (duplicate(err)) throw new Conflict(`another team has the external id ${externalId}`);
        throw err;
      }
    },

    async putMembership(teamId, userId, role) {
      const where = { team_id: teamId, user_id: userId };
      const row = await db('team_memberships').where(where).first();
      if (row) {
        if (row.role !== role) await db('team_memberships').where(where).update({ role });
        return row.role as Role;
      }
      try {
        await db('team_memberships').insert({ ...where, role, created_at: secondsOf(clock) });
      } catch (err) {
        // Another sign-in added it a moment ago: this one's role is the latest word.
        if (!duplicate(err)) throw err;
        await db('team_memberships').where(where).update({ role });
      }
      return null;
    },

    async spendTokenId(kind, tokenId, expiresAt) {
      // The primary key (type, id) makes the first insert the only one, across processes;
      // the expired-rows sweep deletes the row once the token could no longer be used anyway.
      const id = createHash('sha256').update(tokenId).digest('base64url');
      try {
        await db('oidc_payloads').insert({ type: kind, id, payload: '{}', expires_at: expiresAt });
        return true;
      } catch (err) {
        if (duplicate(err)) return false;
        throw err;
      }
    },
  };
}
