import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { NotFound } from '../errors.js';
import { checkEndpointUrl } from './webhook-addresses.js';
import { newWebhookSecret, type SecretBox } from './webhook-secrets.js';
import type { WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookStore } from './webhooks.js';

/** Whose endpoints: a team's, or (`null`) the operator's product-wide ones. */
export type EndpointOwner = number | null;

export interface WebhookEndpoints {
  /** Registers an endpoint; the answer carries its `whsec_…` secret, this once. */
  register(
    owner: EndpointOwner,
    input: { url: string; events: readonly WebhookEventType[] },
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  list(owner: EndpointOwner): Promise<WebhookEndpoint[]>;
  /** Throws not_found for an endpoint of another owner: tenants never learn of each other's. */
  get(owner: EndpointOwner, id: string): Promise<WebhookEndpoint>;
  remove(owner: EndpointOwner, id: string): Promise<void>;
  deliveries(owner: EndpointOwner, id: string): Promise<WebhookDelivery[]>;
  /** "Send again": the delivery is due at once, with the same id and body. */
  retry(owner: EndpointOwner, id: string, deliveryId: string): Promise<WebhookDelivery>;
}

export function createWebhookEndpoints({
  store,
  secrets,
  allowPrivateAddresses,
  clock = systemClock,
}: {
  store: WebhookStore;
  secrets: SecretBox;
  allowPrivateAddresses: boolean;
  clock?: Clock;
}): WebhookEndpoints {
  const get = async (owner: EndpointOwner, id: string) => {
    const endpoint = await store.findEndpoint(id);
    if (!endpoint || endpoint.teamId !== owner) throw new NotFound('not found');
    return endpoint;
  };
  return {
    async register(owner, input) {
      const url = await checkEndpointUrl(input.url, allowPrivateAddresses);
      const secret = newWebhookSecret();
      const endpoint: WebhookEndpoint = {
        id: `whe_${randomBytes(12).toString('base64url')}`,
        teamId: owner,
        url: url.toString(),
        events: [...new Set(input.events)],
        secretSealed: secrets.seal(secret),
        createdAt: clock.now(),
        failingSince: null,
        disabledAt: null,
      };
      await store.insertEndpoint(endpoint);
      return { endpoint, secret };
    },
    list: (owner) => store.listEndpoints(owner),
    get,
    async remove(owner, id) {
      await get(owner, id);
      await store.deleteEndpoint(id);
    },
    async deliveries(owner, id) {
      await get(owner, id);
      return store.listDeliveries(id, 100);
    },
    async retry(owner, id, deliveryId) {
      await get(owner, id);
      const delivery = await store.findDelivery(deliveryId);
      if (!delivery || delivery.endpointId !== id) throw new NotFound('not found');
      await store.requeue(deliveryId, clock.now());
      return (await store.findDelivery(deliveryId))!;
    },
  };
}
