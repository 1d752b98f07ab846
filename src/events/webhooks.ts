import type { Tx } from '../unit-of-work.js';

/**
 * The webhook event types keyport sends (docs/contract.md, Webhooks). Closed:
 * the others of the contract (`key.expired`, `credits.low`, …) come with the
 * jobs that notice them.
 */
export const WEBHOOK_EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.rate_limited',
  'credits.low',
  'key.expiring',
  'key.expired',
  'key.leaked',
  'share_link.opened',
  'share_link.expired',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A registered endpoint, as stored; `secretSealed` is the encrypted `whsec_…` secret. */
export interface WebhookEndpoint {
  readonly id: string;
  /** Null: the operator's, product-wide. */
  readonly teamId: number | null;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly secretSealed: string;
  readonly createdAt: number;
  /** When the endpoint began failing (cleared by a success). */
  readonly failingSince: number | null;
  readonly disabledAt: number | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event for one endpoint: the outbox row, and its delivery log. Its id is the `webhook-id`. */
export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly eventType: WebhookEventType;
  /** The JSON body, fixed when the event happened: every attempt sends the same bytes. */
  readonly payload: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastLatencyMs: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: number | null;
}

/** What one attempt found. */
export interface AttemptResult {
  readonly ok: boolean;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
}

export interface WebhookStore {
  insertEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  /** The team's endpoints (`null`: the product-wide ones), oldest first. */
  listEndpoints(teamId: number | null): Promise<WebhookEndpoint[]>;
  findEndpoint(id: string): Promise<WebhookEndpoint | undefined>;
  deleteEndpoint(id: string): Promise<void>;
  /** Endpoints, not disabled, that hear `teamId`'s events: its own and the product-wide ones, read in `tx`. */
  listeners(teamId: number | null, tx: Tx): Promise<WebhookEndpoint[]>;
  /** The key's name and environment, read in `tx` (the payload's `data`). */
  clientSummary(clientId: string, tx: Tx): Promise<{ name: string | null; environment: string } | undefined>;
  /** Writes outbox rows inside `tx`: they commit with the change, or not at all. */
  enqueue(deliveries: readonly WebhookDelivery[], tx: Tx): Promise<void>;
  /** The endpoint's newest deliveries first. */
  listDeliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]>;
  findDelivery(id: string): Promise<WebhookDelivery | undefined>;
  /** Pending deliveries due at `now` and not held by a process, oldest first. */
  due(now: number, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Takes `id` for `claim` until `until`, counting an attempt: one conditional
   * UPDATE, so of several processes exactly one gets it. True when this one did.
   */
  claim(id: string, claim: string, now: number, until: number): Promise<boolean>;
  /** Records an attempt made under `claim` and releases it. */
  settle(
    id: string,
    claim: string,
    result: AttemptResult,
    next: { status: DeliveryStatus; nextAttemptAt: number | null; at: number },
  ): Promise<void>;
  /** Makes a delivery due again at `now` ("send again"). */
  requeue(id: string, now: number): Promise<void>;
  /**
   * An endpoint failed at `at` (kept when already failing), or answered (cleared), or is
   * disabled; true when this call changed it (of several processes, one disables it).
   */
  markEndpoint(
    id: string,
    change: { failingAt: number } | { succeeded: true } | { disabledAt: number },
  ): Promise<boolean>;
}
