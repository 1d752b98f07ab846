import type { DomainEvent, ClientEventSubscriber } from '../events/domain-events.js';
import type { AuditAction, AuditEvent, AuditStore } from './audit.js';

/** Who made the changes a subscriber records: the surface that has no audit write of its own (the CLI). */
export interface AuditActor {
  readonly type: AuditEvent['actorType'];
  readonly id: string;
}

/** The audit action each change is listed as on the dashboard's audit page and `GET /api/teams/:team/events`. */
export function auditActionOf(event: DomainEvent): AuditAction {
  switch (event.type) {
    case 'client.created':
      return 'client.create';
    case 'client.revoked':
      return 'client.revoke';
    case 'client.leaked':
      return 'client.leaked';
    case 'client.rotated':
    case 'client.revived':
      return 'client.secret.regenerate';
    case 'client.key-added':
      return 'client.key.add';
    case 'client.key-removed':
      return 'client.key.remove';
    case 'client.renamed':
    case 'client.scopes-changed':
    case 'client.credits-changed':
    case 'client.meta-changed':
    case 'client.permissions-changed':
    case 'client.allowed-ips-changed':
    case 'client.key-set':
      return 'client.update';
    case 'client.share-opened':
      return 'share.opened';
    case 'client.share-expired':
      return 'share.expired';
    case 'team.plan-changed':
      return 'team.plan.change';
    case 'member.role-changed':
      return 'member.role.change';
    case 'member.password-reset':
      return 'member.password.reset';
    case 'member.removed':
      return 'member.remove';
    case 'team.synced':
      return 'team.sync';
    case 'team.suspended':
      return 'team.suspend';
    case 'member.synced':
      return 'member.sync';
  }
}

/** What an audit row says of a change: the event's fields but its type and team (never a secret: events hold none). */
export function auditDetailsOf(event: DomainEvent): Record<string, unknown> {
  const { type, teamId: _team, ...rest } = event;
  const fields = Object.fromEntries(
    Object.entries(rest)
      .filter(([k]) => k !== 'clientId')
      .map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
  return { event: type, ...fields };
}

/**
 * One audit row per change, in the change's transaction. Registered only
 * where the surface does not audit itself (the admin API and dashboard write
 * their own rows, with the HTTP status and address), so no change is listed twice.
 */
export function createAuditSubscriber(audit: AuditStore, actor: AuditActor): ClientEventSubscriber {
  return (event, tx) =>
    audit.record(
      {
        teamId: event.teamId,
        actorType: actor.type,
        actorId: actor.id,
        action: auditActionOf(event),
        clientId: 'clientId' in event ? event.clientId : null,
        status: 200,
        ip: null,
        details: auditDetailsOf(event),
      },
      tx,
    );
}
