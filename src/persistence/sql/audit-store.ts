import type { AuditStore } from '../../audit/audit.js';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

/** AuditStore on the audit_events table. */
export function createSqlAuditStore(db: Db, clock: Clock = systemClock): AuditStore {
  return {
    async record(e, tx) {
      await sqlOf(
        db,
        tx,
      )('audit_events').insert({
        team_id: e.teamId,
        actor_type: e.actorType,
        actor_id: e.actorId,
        action: e.action,
        client_id: e.clientId,
        status: e.status,
        ip: e.ip,
        details: e.details ? JSON.stringify(e.details) : null,
        created_at: secondsOf(clock),
      });
    },

    async listByTeam(teamId, { limit, offset }) {
      const [{ count }] = (await db('audit_events').where({ team_id: teamId }).count({ count: '*' })) as [
        { count: number | string },
      ];
      const rows = await db('audit_events')
        .where({ team_id: teamId })
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset);
      return {
        total: Number(count),
        events: rows.map((r) => ({
          id: Number(r.id),
          action: r.action,
          actor: { type: r.actor_type, id: r.actor_id },
          client_id: r.client_id,
          status: r.status,
          ip: r.ip,
          details: r.details ? JSON.parse(r.details) : null,
          created_at: new Date(Number(r.created_at) * 1000).toISOString(),
        })),
      };
    },
  };
}
