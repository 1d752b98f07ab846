import type { AuditEventView, AuditStore } from '../../audit/audit.js';
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

    async listAfter(afterId, ids, limit) {
      const rows = await db('audit_events')
        .where('id', '>', afterId)
        .modify((q) => {
          if (ids.length > 0) q.orWhereIn('id', ids);
        })
        .orderBy('id', 'asc')
        .limit(limit);
      return rows.map((r: Record<string, unknown>) => ({
        team_id: r.team_id === null ? null : Number(r.team_id),
        ...viewOf(r),
      }));
    },

    async latestId() {
      const [row] = (await db('audit_events').max({ id: 'id' })) as [{ id: number | string | null }];
      return Number(row?.id ?? 0);
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
        events: rows.map(viewOf),
      };
    },
  };
}

/** A row as the API shows it (never a secret: details hold none). */
function viewOf(r: Record<string, unknown>): AuditEventView {
  return {
    id: Number(r.id),
    action: r.action as AuditEventView['action'],
    actor: { type: r.actor_type as string, id: (r.actor_id as string | null) ?? null },
    client_id: (r.client_id as string | null) ?? null,
    status: Number(r.status),
    ip: (r.ip as string | null) ?? null,
    details: r.details ? JSON.parse(r.details as string) : null,
    created_at: new Date(Number(r.created_at) * 1000).toISOString(),
  };
}
