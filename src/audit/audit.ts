import { nowSeconds, type Db } from '../persistence/sql/knex.js';
import type { Tx } from '../unit-of-work.js';

export type AuditAction =
  | 'client.create'
  | 'client.update'
  | 'client.revoke'
  | 'client.secret.regenerate'
  | 'client.key.add'
  | 'client.key.remove'
  | 'share.opened'
  | 'request.failed';

export interface AuditEvent {
  readonly teamId: number | null;
  readonly actorType: 'operator' | 'client' | 'person' | 'anonymous';
  readonly actorId: string | null;
  readonly action: AuditAction;
  readonly clientId: string | null;
  readonly status: number;
  readonly ip: string | null;
  /** What changed or why it failed; never a secret. */
  readonly details?: Record<string, unknown>;
}

export interface AuditEventView {
  readonly id: number;
  readonly action: AuditAction;
  readonly actor: { readonly type: string; readonly id: string | null };
  readonly client_id: string | null;
  readonly status: number;
  readonly ip: string | null;
  readonly details: Record<string, unknown> | null;
  readonly created_at: string;
}

export interface AuditStore {
  /** Writes the row; with `tx`, inside that transaction (a domain event's subscriber). */
  record(event: AuditEvent, tx?: Tx): Promise<void>;
  listByTeam(
    teamId: number,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; events: AuditEventView[] }>;
}

export function createKnexAuditStore(db: Db): AuditStore {
  return {
    async record(e, tx) {
      await (tx ? (tx as unknown as Db) : db)('audit_events').insert({
        team_id: e.teamId,
        actor_type: e.actorType,
        actor_id: e.actorId,
        action: e.action,
        client_id: e.clientId,
        status: e.status,
        ip: e.ip,
        details: e.details ? JSON.stringify(e.details) : null,
        created_at: nowSeconds(),
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
