import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { isClientEvent, type ClientEvent, type ClientEventSubscriber } from './domain-events.js';
import type { WebhookDelivery, WebhookEventType, WebhookStore } from './webhooks.js';

/** The webhook a change is told as, if any (docs/contract.md, Webhooks). */
export function webhookTypeOf(event: ClientEvent): WebhookEventType | undefined {
  switch (event.type) {
    case 'client.created':
      return 'key.created';
    case 'client.rotated':
    case 'client.revived':
      return 'key.rotated';
    case 'client.revoked':
      return 'key.revoked';
    case 'client.share-opened':
      return 'share_link.opened';
    case 'client.share-expired':
      return 'share_link.expired';
    case 'client.leaked':
      return 'key.leaked';
    case 'client.renamed':
    case 'client.scopes-changed':
    case 'client.credits-changed':
    case 'client.meta-changed':
    case 'client.permissions-changed':
    case 'client.allowed-ips-changed':
    case 'client.key-set':
    case 'client.key-added':
    case 'client.key-removed':
      return undefined;
  }
}

/** A Standard Webhooks message id: unique per event and endpoint, the same on every retry. */
export const newDeliveryId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

/**
 * The outbox writer: for each endpoint that hears the change, one delivery
 * row in the change's transaction, so an event is never sent for a change
 * that rolled back nor lost for one that committed. The payload names the
 * key, never a secret. Nothing here reaches the network: the delivery job does.
 */
export function createWebhookSubscriber(store: WebhookStore, clock: Clock = systemClock): ClientEventSubscriber {
  return async (event, tx) => {
    // Team and member changes have no webhook yet.
    if (!isClientEvent(event)) return;
    const type = webhookTypeOf(event);
    if (!type) return;
    const endpoints = (await store.listeners(event.teamId, tx)).filter((e) => e.events.includes(type));
    if (!endpoints.length) return;
    const client = await store.clientSummary(event.clientId, tx);
    const now = clock.now();
    const payload = JSON.stringify({
      type,
      timestamp: new Date(now).toISOString(),
      data: {
        team_id: event.teamId,
        client_id: event.clientId,
        name: client?.name ?? null,
        environment: client?.environment ?? null,
        ...(event.type === 'client.leaked'
          ? { action: event.action, scanner: event.scanner, url: event.url, source: event.source }
          : {}),
        ...(event.type === 'client.share-expired'
          ? {
              link_id: event.linkId,
              expires_at: new Date(event.expiresAt * 1000).toISOString(),
              key_revoked: event.keyRevoked,
            }
          : {}),
      },
    });
    const rows: WebhookDelivery[] = endpoints.map((endpoint) => ({
      id: newDeliveryId(),
      endpointId: endpoint.id,
      eventType: type,
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
