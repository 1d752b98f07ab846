import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config.js';
import type { Clock } from '../clock.js';
import { guardedLookup, literalHostAllowed } from '../events/webhook-addresses.js';
import type { SecretBox } from '../events/webhook-secrets.js';
import type { AttemptResult, WebhookDelivery, WebhookStore } from '../events/webhooks.js';
import type { Logger } from '../observability/logger.js';

/** The longest wait between two attempts: past it, backoff stops doubling. */
const MAX_BACKOFF_MS = 3_600_000;
/** Deliveries one process takes per poll. */
const BATCH = 20;

export interface WebhookDeliveryJob {
  /** Stops polling and waits for the attempts in flight. */
  stop(): Promise<void>;
}

/**
 * Delivers the outbox (issue 26 item 4), off every request's path: every
 * `webhook_poll_ms` each process reads the due rows and claims each with a
 * conditional UPDATE, so of several processes one sends it; a crash mid-send
 * leaves the claim to lapse and another process sends it again (at least once,
 * same `webhook-id`, which receivers deduplicate on). A failed attempt is
 * retried after `webhook_retry_base_ms` × 2^(attempts − 1) until
 * `webhook_retry_for_ms` has passed; an endpoint failing that long is disabled.
 */
export function startWebhookDelivery({
  config,
  store,
  secrets,
  clock,
  logger,
  onDisabled = async () => undefined,
}: {
  config: Config;
  store: WebhookStore;
  secrets: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Called once per endpoint this process disabled (the team's admins are mailed). */
  onDisabled?: (endpoint: { id: string; teamId: number | null; url: string; failingSince: number }) => Promise<void>;
}): WebhookDeliveryJob {
  const settings = config.webhooks;
  const inFlight = new Set<Promise<void>>();
  let polling = false;
  let stopped = false;

  async function poll() {
    if (polling || stopped) return;
    polling = true;
    try {
      const now = clock.now();
      const claim = randomBytes(12).toString('base64url');
      // Held long enough for one attempt; a process that dies while holding it only delays the row.
      const until = now + settings.timeoutMs * 2 + 5000;
      for (const delivery of await store.due(now, BATCH)) {
        if (stopped) break;
        if (!(await store.claim(delivery.id, claim, now, until))) continue;
        const attempt = deliver(delivery, claim).catch((err: Error) =>
          logger.error(
            { err: { message: err.message }, delivery_id: delivery.id },
            'recording a webhook attempt failed',
          ),
        );
        inFlight.add(attempt);
        void attempt.finally(() => inFlight.delete(attempt));
      }
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, 'reading due webhook deliveries failed');
    } finally {
      polling = false;
    }
  }

  async function deliver(delivery: WebhookDelivery, claim: string) {
    const endpoint = await store.findEndpoint(delivery.endpointId);
    const at = () => clock.now();
    if (!endpoint) {
      await store.settle(
        delivery.id,
        claim,
        { ok: false, statusCode: null, latencyMs: 0, error: 'endpoint removed' },
        {
          status: 'failed',
          nextAttemptAt: null,
          at: at(),
        },
      );
      return;
    }
    // A secret sealed under a cookie key this process lacks (KEYS_DIR not shared) is a failed attempt, retried.
    const result = await Promise.resolve()
      .then(() => post(endpoint.url, delivery, secrets.open(endpoint.secretSealed), at()))
      .catch((err: Error): AttemptResult => ({ ok: false, statusCode: null, latencyMs: 0, error: err.message }));
    const now = at();
    if (result.ok) {
      await store.settle(delivery.id, claim, result, { status: 'delivered', nextAttemptAt: null, at: now });
      if (endpoint.failingSince !== null || endpoint.disabledAt !== null)
        await store.markEndpoint(endpoint.id, { succeeded: true });
      return;
    }
    const attempts = delivery.attempts + 1;
    const wait = Math.min(settings.retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    const givesUp = now + wait - delivery.createdAt > settings.retryForMs;
    await store.settle(delivery.id, claim, result, {
      status: givesUp ? 'failed' : 'pending',
      nextAttemptAt: givesUp ? null : now + wait,
      at: now,
    });
    logger.warn(
      { endpoint_id: endpoint.id, delivery_id: delivery.id, status: result.statusCode, error: result.error, attempts },
      givesUp ? 'a webhook delivery failed for good' : 'a webhook delivery failed; retrying later',
    );
    if (endpoint.failingSince === null) await store.markEndpoint(endpoint.id, { failingAt: now });
    else if (endpoint.disabledAt === null && now - endpoint.failingSince >= settings.retryForMs) {
      if (await store.markEndpoint(endpoint.id, { disabledAt: now })) {
        logger.warn(
          { endpoint_id: endpoint.id, team_id: endpoint.teamId, failing_since: endpoint.failingSince },
          'a webhook endpoint failed for longer than webhook_retry_for_ms and was disabled',
        );
        const { failingSince } = endpoint;
        await onDisabled({ id: endpoint.id, teamId: endpoint.teamId, url: endpoint.url, failingSince }).catch(
          (err: Error) =>
            logger.error(
              { endpoint_id: endpoint.id, err: { message: err.message } },
              'telling of a disabled webhook failed',
            ),
        );
      }
    }
  }

  /** One signed POST with a short timeout; never follows a redirect (a 3xx is a failure). */
  function post(rawUrl: string, delivery: WebhookDelivery, secret: string, now: number): Promise<AttemptResult> {
    const started = process.hrtime.bigint();
    const latency = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
    const url = new URL(rawUrl);
    if (url.protocol !== 'https:' && !settings.allowPrivateAddresses)
      return Promise.resolve({ ok: false, statusCode: null, latencyMs: 0, error: 'https:// required' });
    if (!literalHostAllowed(url, settings.allowPrivateAddresses))
      return Promise.resolve({ ok: false, statusCode: null, latencyMs: 0, error: 'private address refused' });
    const body = Buffer.from(delivery.payload, 'utf8');
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'user-agent': 'keyport-webhooks',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(Math.floor(now / 1000)),
      'webhook-signature': new Webhook(secret).sign(delivery.id, new Date(now), body),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // The whole attempt (connect, answer, body) is bounded, not only an idle socket.
    const deadline = AbortSignal.timeout(settings.timeoutMs);
    const tooLate = `no answer within ${settings.timeoutMs} ms`;
    return new Promise((resolve) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers,
          timeout: settings.timeoutMs,
          lookup: guardedLookup(settings.allowPrivateAddresses) as never,
          signal: deadline,
        },
        (res: IncomingMessage) => {
          res.resume();
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            resolve({ ok: code >= 200 && code < 300, statusCode: code, latencyMs: latency(), error: null });
          });
          res.on('error', (err) =>
            resolve({ ok: false, statusCode: res.statusCode ?? null, latencyMs: latency(), error: err.message }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(tooLate)));
      req.on('error', (err) =>
        resolve({ ok: false, statusCode: null, latencyMs: latency(), error: deadline.aborted ? tooLate : err.message }),
      );
      req.end(body);
    });
  }

  const timer = setInterval(() => void poll(), settings.pollMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
