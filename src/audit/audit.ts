import type { Tx } from '../unit-of-work.js';

export type AuditAction =
  | 'client.create'
  | 'client.update'
  | 'client.revoke'
  | 'client.leaked'
  | 'client.secret.regenerate'
  | 'client.key.add'
  | 'client.key.remove'
  | 'role.create'
  | 'role.update'
  | 'role.remove'
  | 'team.plan.change'
  | 'team.leaked_keys.change'
  | 'member.role.change'
  | 'member.password.reset'
  | 'member.remove'
  | 'team.sync'
  | 'team.suspend'
  | 'member.sync'
  | 'share.opened'
  | 'share.expired'
  | 'person.password.change'
  | 'person.signout.everywhere'
  | 'webhook.create'
  | 'webhook.remove'
  | 'webhook.retry'
  | 'sync_token.create'
  | 'sync_token.revoke'
  | 'request.failed';

export interface AuditEvent {
  readonly teamId: number | null;
  /** `scanner`: a secret scanner's signed report (actor id `github`). `staff`: a support console account (actorId its id, details.staff_email and .reason). */
  /** `sync_token`: the product's sync token (actorId its id). */
  readonly actorType: 'operator' | 'client' | 'person' | 'anonymous' | 'scanner' | 'staff' | 'sync_token';
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

/** A row of the product-wide stream (`GET /api/events/stream`): every team's events, oldest first. */
export interface StreamedAuditEvent extends AuditEventView {
  readonly team_id: number | null;
}

export interface AuditStore {
  /** Writes the row (inside `tx` when given), stamped with the store's clock. */
  record(event: AuditEvent, tx?: Tx): Promise<void>;
  /** The team's rows, newest first. */
  listByTeam(
    teamId: number,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; events: AuditEventView[] }>;
  /** Every team's rows with an id above `afterId` or among `ids`, lowest id first, at most `limit`. */
  listAfter(afterId: number, ids: readonly number[], limit: number): Promise<StreamedAuditEvent[]>;
  /** The highest id written so far (0 when none): where a stream without Last-Event-ID starts. */
  latestId(): Promise<number>;
}
