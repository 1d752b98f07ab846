import type {
  DeliveryStatus,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventType,
  WebhookStore,
} from '../../events/webhooks.js';
import type { Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';

const ENDPOINTS = 'webhook_endpoints';
const DELIVERIES = 'webhook_deliveries';

type Row = Record<string, unknown>;
const num = (value: unknown) => (value === null || value === undefined ? null : Number(value));

const endpointOf = (row: Row): WebhookEndpoint => ({
  id: String(row.id),
  teamId: num(row.team_id),
  url: String(row.url),
  events: JSON.parse(String(row.events)) as WebhookEventType[],
  secretSealed: String(row.secret_sealed),
  createdAt: Number(row.created_at),
  failingSince: num(row.failing_since),
  disabledAt: num(row.disabled_at),
});

const deliveryOf = (row: Row): WebhookDelivery => ({
  id: String(row.id),
  endpointId: String(row.endpoint_id),
  eventType: String(row.event_type) as WebhookEventType,
  payload: String(row.payload),
  status: String(row.status) as DeliveryStatus,
  attempts: Number(row.attempts),
  createdAt: Number(row.created_at),
  nextAttemptAt: num(row.next_attempt_at),
  lastStatusCode: num(row.last_status_code),
  lastLatencyMs: num(row.last_latency_ms),
  lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
  deliveredAt: num(row.delivered_at),
});

/** WebhookStore on webhook_endpoints and webhook_deliveries (the outbox). */
export function createSqlWebhookStore(db: Db): WebhookStore {
  const ownedBy = (teamId: number | null) =>
    teamId === null ? db(ENDPOINTS).whereNull('team_id') : db(ENDPOINTS).where('team_id', teamId);
  return {
    async insertEndpoint(e) {
      await db(ENDPOINTS).insert({
        id: e.id,
        team_id: e.teamId,
        url: e.url,
        events: JSON.stringify(e.events),
        secret_sealed: e.secretSealed,
        created_at: e.createdAt,
        failing_since: e.failingSince,
        disabled_at: e.disabledAt,
      });
    },
    listEndpoints: async (teamId) =>
      ((await ownedBy(teamId).orderBy('created_at').select('*')) as Row[]).map(endpointOf),
    async findEndpoint(id) {
      const row = (await db(ENDPOINTS).where({ id }).first()) as Row | undefined;
      return row && endpointOf(row);
    },
    async deleteEndpoint(id) {
      // Deliveries first: not every database enforces ON DELETE CASCADE (SQLite without foreign_keys).
      await db.transaction(async (trx) => {
        await trx(DELIVERIES).where({ endpoint_id: id }).delete();
        await trx(ENDPOINTS).where({ id }).delete();
      });
    },
    async listeners(teamId, tx) {
      const rows = (await sqlOf(
        db,
        tx,
      )(ENDPOINTS)
        .whereNull('disabled_at')
        .andWhere((q) => (teamId === null ? q.whereNull('team_id') : q.where('team_id', teamId).orWhereNull('team_id')))
        .select('*')) as Row[];
      return rows.map(endpointOf);
    },
    async clientSummary(clientId, tx) {
      const row = (await sqlOf(
        db,
        tx,
      )('o_auth_clients')
        .where({ client_id: clientId })
        .first('name', 'environment')) as Row | undefined;
      return row && { name: row.name === null ? null : String(row.name), environment: String(row.environment) };
    },
    async enqueue(deliveries, tx) {
      if (!deliveries.length) return;
      await sqlOf(
        db,
        tx,
      )(DELIVERIES).insert(
        deliveries.map((d) => ({
          id: d.id,
          endpoint_id: d.endpointId,
          event_type: d.eventType,
          payload: d.payload,
          status: d.status,
          attempts: d.attempts,
          created_at: d.createdAt,
          next_attempt_at: d.nextAttemptAt,
        })),
      );
    },
    listDeliveries: async (endpointId, limit) =>
      (
        (await db(DELIVERIES)
          .where({ endpoint_id: endpointId })
          .orderBy([
            { column: 'created_at', order: 'desc' },
            { column: 'id', order: 'desc' },
          ])
          .limit(limit)
          .select('*')) as Row[]
      ).map(deliveryOf),
    async findDelivery(id) {
      const row = (await db(DELIVERIES).where({ id }).first()) as Row | undefined;
      return row && deliveryOf(row);
    },
    due: async (now, limit) =>
      (
        (await db(DELIVERIES)
          .where({ status: 'pending' })
          .andWhere('next_attempt_at', '<=', now)
          .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
          .orderBy('next_attempt_at')
          .limit(limit)
          .select('*')) as Row[]
      ).map(deliveryOf),
    async claim(id, claim, now, until) {
      // The claim: whichever process's UPDATE matches first holds the row; the others match nothing.
      const changed = await db(DELIVERIES)
        .where({ id, status: 'pending' })
        .andWhere('next_attempt_at', '<=', now)
        .andWhere((q) => q.whereNull('claimed_until').orWhere('claimed_until', '<', now))
        .update({ claim, claimed_until: until, attempts: db.raw('attempts + 1') });
      return changed === 1;
    },
    async settle(id, claim, result, next) {
      await db(DELIVERIES)
        .where({ id, claim })
        .update({
          status: next.status,
          next_attempt_at: next.nextAttemptAt,
          claimed_until: null,
          claim: null,
          last_status_code: result.statusCode,
          last_latency_ms: result.latencyMs,
          last_error: result.error?.slice(0, 200) ?? null,
          delivered_at: result.ok ? next.at : null,
        });
    },
    async requeue(id, now) {
      await db(DELIVERIES)
        .where({ id })
        .update({ status: 'pending', next_attempt_at: now, claimed_until: null, claim: null });
    },
    async markEndpoint(id, change) {
      if ('failingAt' in change)
        return (
          (await db(ENDPOINTS).where({ id }).whereNull('failing_since').update({ failing_since: change.failingAt })) > 0
        );
      if ('succeeded' in change)
        return (await db(ENDPOINTS).where({ id }).update({ failing_since: null, disabled_at: null })) > 0;
      const disabled = await db(ENDPOINTS)
        .where({ id })
        .whereNull('disabled_at')
        .update({ disabled_at: change.disabledAt });
      await db(DELIVERIES)
        .where({ endpoint_id: id, status: 'pending' })
        .whereNull('claim')
        .update({ status: 'failed', next_attempt_at: null });
      return disabled > 0;
    },
  };
}
