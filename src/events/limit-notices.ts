import type { ClientRecord } from '../clients/client.js';
import type { Clock } from '../clock.js';
import type { Tx, UnitOfWork } from '../unit-of-work.js';
import { newDeliveryId } from './webhook-subscriber.js';
import type { WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookStore } from './webhooks.js';

/** The once-only records behind `key.rate_limited` and `credits.low`. */
export interface LimitNoticeStore {
  /**
   * Records, in `tx`, that the key went over the window ending at `windowEndS`
   * (one row per key and window: of several processes one writes it); false
   * when it was recorded already.
   */
  claimRateLimited(clientId: string, windowEndS: number, nowMs: number, tx: Tx): Promise<boolean>;
  /**
   * Marks, in `tx`, the key's credits low unless they are marked already since
   * they were last set or refilled (one conditional UPDATE); false when they were.
   */
  claimCreditsLow(clientId: string, nowMs: number, tx: Tx): Promise<boolean>;
  /** Deletes the records of windows that ended before `beforeS`. */
  deleteEndedWindows(beforeS: number): Promise<number>;
}

export interface LimitNotices {
  /** A call with the key was refused for its rate limit; `state` is that refusal's budget. */
  rateLimited(client: ClientRecord, state: { readonly limit: number; readonly reset: number }): void;
  /** A call with the key spent credits and left `remaining`. */
  creditsSpent(client: ClientRecord, remaining: number): void;
  /** Waits for the notices being written (shutdown). */
  settle(): Promise<void>;
}

/** How many keys' last announced windows one process remembers before it forgets the ended ones. */
const REMEMBERED = 10_000;
const ALREADY = Symbol('already noticed');

/**
 * `key.rate_limited` and `credits.low` into the webhook outbox (docs/contract.md,
 * Webhooks). Off the request's path: the caller is answered without waiting.
 *
 * A key over its limit is refused on every call of the window; only the first
 * refusal a process sees in a window reaches the database (the window's end is
 * remembered per key), and there one row per key and window, under a primary
 * key, decides which process announces it. Credits are low when a call leaves
 * fewer than the threshold: the key's row says whether that was announced since
 * the credits were last given, so a key already announced costs nothing more.
 */
export function createLimitNotices({
  unitOfWork,
  store,
  webhooks,
  clock,
  creditsLowThreshold,
  onError,
}: {
  unitOfWork: UnitOfWork;
  store: LimitNoticeStore;
  webhooks: WebhookStore;
  clock: Clock;
  creditsLowThreshold: number;
  onError: (err: Error) => void;
}): LimitNotices {
  /** Per key, the end of the last window this process saw it refused in. */
  const announced = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();

  const track = (work: Promise<unknown>) => {
    const running = work.catch((err: unknown) => (err === ALREADY ? undefined : onError(err as Error)));
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  };

  /**
   * Claims the notice and writes its deliveries in one transaction: both, or (already claimed)
   * neither. `whenHeard`: claim only when an endpoint hears it (a window is cheap to skip);
   * otherwise claim anyway, so a key already low is never looked at again.
   */
  const announce = (
    claim: (tx: Tx) => Promise<boolean>,
    type: WebhookEventType,
    client: ClientRecord,
    data: object,
    whenHeard: boolean,
  ) =>
    unitOfWork.run(async (tx) => {
      if (!whenHeard && !(await claim(tx))) throw ALREADY;
      const endpoints = (await webhooks.listeners(client.teamId, tx)).filter((e) => e.events.includes(type));
      if (!endpoints.length) return;
      if (whenHeard && !(await claim(tx))) throw ALREADY;
      await webhooks.enqueue(deliveries(endpoints, clock.now(), type, client, data), tx);
    });

  function forget(nowS: number) {
    for (const [clientId, end] of announced) if (end <= nowS) announced.delete(clientId);
    if (announced.size >= REMEMBERED) announced.clear();
  }

  return {
    rateLimited(client, { limit, reset }) {
      if (client.teamId === null || (announced.get(client.clientId) ?? 0) >= reset) return;
      if (announced.size >= REMEMBERED) forget(Math.floor(clock.now() / 1000));
      announced.set(client.clientId, reset);
      track(
        announce(
          (tx) => store.claimRateLimited(client.clientId, reset, clock.now(), tx),
          'key.rate_limited',
          client,
          {
            limit,
            window_ends_at: new Date(reset * 1000).toISOString(),
          },
          true,
        ),
      );
    },
    creditsSpent(client, remaining) {
      if (client.teamId === null || remaining >= creditsLowThreshold || toldAlready(client, clock.now())) return;
      track(
        announce(
          (tx) => store.claimCreditsLow(client.clientId, clock.now(), tx),
          'credits.low',
          client,
          {
            remaining,
            threshold: creditsLowThreshold,
          },
          false,
        ),
      );
    },
    async settle() {
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Whether the key's row (read before this call) says `credits.low` was told for the credits
 * it has now: not when this call's refill, the first of a new day or month, gave them anew.
 */
function toldAlready(client: ClientRecord, nowMs: number): boolean {
  const at = client.creditsLowAt ?? null;
  if (at === null) return false;
  const refill = client.credits?.refill;
  return !refill || at >= periodStartMs(refill.interval, nowMs);
}

/** The start of the UTC day or month `ms` falls in (the refill periods of clients/client.ts). */
function periodStartMs(interval: 'day' | 'month', ms: number): number {
  const d = new Date(ms);
  return interval === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** One delivery per endpoint; the payload names the key, never a secret. */
function deliveries(
  endpoints: readonly WebhookEndpoint[],
  now: number,
  type: WebhookEventType,
  client: ClientRecord,
  extra: object,
): WebhookDelivery[] {
  const payload = JSON.stringify({
    type,
    timestamp: new Date(now).toISOString(),
    data: {
      team_id: client.teamId,
      client_id: client.clientId,
      name: client.name,
      environment: client.environment,
      ...extra,
    },
  });
  return endpoints.map((endpoint) => ({
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
}
