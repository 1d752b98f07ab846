import type { Clock } from '../clock.js';
import type { KeyExpiringSubscriber } from './key-expiring.js';
import { newDeliveryId } from './webhook-subscriber.js';
import type { WebhookDelivery, WebhookStore } from './webhooks.js';
import type { PassedTime } from './passed-times.js';
import type { Tx } from '../unit-of-work.js';

/**
 * `key.expiring` into the webhook outbox: one delivery row per endpoint that
 * hears it, in the transaction that announces the reminder (so once per
 * reminder, whatever the number of processes). The payload names the key,
 * never a secret.
 */
export function createKeyExpiringWebhookSubscriber(store: WebhookStore, clock: Clock): KeyExpiringSubscriber {
  return async (event, tx) => {
    const endpoints = (await store.listeners(event.teamId, tx)).filter((e) => e.events.includes('key.expiring'));
    if (!endpoints.length) return;
    const client = await store.clientSummary(event.clientId, tx);
    const now = clock.now();
    const payload = JSON.stringify({
      type: 'key.expiring',
      timestamp: new Date(now).toISOString(),
      data: {
        team_id: event.teamId,
        client_id: event.clientId,
        name: client?.name ?? null,
        environment: client?.environment ?? null,
        reason: event.reason,
        threshold_days: event.thresholdDays,
        expires_at: new Date(event.expiresAt * 1000).toISOString(),
      },
    });
    const rows: WebhookDelivery[] = endpoints.map((endpoint) => ({
      id: newDeliveryId(),
      endpointId: endpoint.id,
      eventType: 'key.expiring',
      payload,
      status: 'pending',
      attempts: 0,
      createdAt: now,
      nextAttemptAt: now,
      lastStatusCode: null,
      lastLatencyMs: null,
      lastError: null,
      deliveredAt: null,
    }));
    await store.enqueue(rows, tx);
  };
}

/**
 * `key.expired` into the webhook outbox, in the transaction that pushes the
 * passed expiry to guards (jobs/expiry-pushes.ts): once per expiry, whatever
 * the number of processes. A grace period's end is no `key.expired`.
 */
export function createKeyExpiredWebhookSubscriber(
  store: WebhookStore,
  clock: Clock,
): (moment: PassedTime, tx: Tx) => Promise<void> {
  return async (moment, tx) => {
    if (moment.kind !== 'expiry') return;
    const endpoints = (await store.listeners(moment.teamId, tx)).filter((e) => e.events.includes('key.expired'));
    if (!endpoints.length) return;
    const client = await store.clientSummary(moment.clientId, tx);
    const now = clock.now();
    const payload = JSON.stringify({
      type: 'key.expired',
      timestamp: new Date(now).toISOString(),
      data: {
        team_id: moment.teamId,
        client_id: moment.clientId,
        name: client?.name ?? null,
        environment: client?.environment ?? null,
        expired_at: new Date(moment.atS * 1000).toISOString(),
      },
    });
    await store.enqueue(
      endpoints.map((endpoint) => ({
        id: newDeliveryId(),
        endpointId: endpoint.id,
        eventType: 'key.expired' as const,
        payload,
        status: 'pending' as const,
        attempts: 0,
        createdAt: now,
        nextAttemptAt: now,
        lastStatusCode: null,
        lastLatencyMs: null,
        lastError: null,
        deliveredAt: null,
      })),
      tx,
    );
  };
}
