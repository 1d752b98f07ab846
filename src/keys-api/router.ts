import { PassThrough } from 'node:stream';
import { noteAuthFailure } from '../observability/auth-failure-reasons.js';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import Router, { type RouterContext } from '@koa/router';
import { parseBody } from '../web/body.js';
import type Koa from 'koa';
import { ClientThrottled, secretMatches, type SecretCheckDeps } from '../clients/authenticate.js';
import { isValid } from '../clients/client.js';
import type { ClientStore } from '../clients/store.js';
import { createBatcher } from '../batch.js';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import type { KeyEventHub } from '../events/key-events.js';
import type { KeyVerifier } from '../verification/verify.js';
import type { LeasedCallsRecorder } from '../verification/leased-calls.js';
import { verifyAnswer } from '../verification/wire.js';
import { KeyportError, RateLimitExceeded } from '../errors.js';
import { guarded } from '../web/route.js';
import { KEYS_ROUTES as R } from './routes.js';

/** Event streams one resource server may hold open on one process. */
const STREAMS_PER_CALLER = 32;
/** A stream slot frees only when another of the caller's streams ends: a retry sooner would be refused again. */
const STREAM_RETRY_AFTER_SECONDS = 5;

interface Deps {
  readonly verifier: KeyVerifier;
  /** POST /keys/usage: the calls guards allowed from their leases. */
  readonly leasedCalls: LeasedCallsRecorder;
  readonly clients: ClientStore;
  readonly secrets: SecretCheckDeps;
  readonly failures: AuthFailures;
  readonly events: KeyEventHub;
  /** The callers' own budgets: a resource server's `resource_server_rate_limits`. */
  readonly plans: PlanLimits;
}

type Ctx = RouterContext;

/**
 * `POST /keys/verify` (docs/contract.md): a resource server asks, in one round
 * trip, whether a key (or an OAuth access token) may make this API call.
 * The caller authenticates as at introspection (a resource server's
 * client_id and secret, Basic or in the body); every answer to an
 * authenticated caller is 200 with a code, and the X-RateLimit-* headers
 * mirror the key's budget.
 */
export function createKeysRouter({ verifier, leasedCalls, clients, secrets, failures, events, plans }: Deps): Router {
  const router = new Router();
  // Concurrent verifications by the same resource servers share one read of their rows.
  const callerById = createBatcher((ids: readonly string[]) => clients.findManyById(ids));
  const parse = parseBody({ enableTypes: ['json', 'form'], jsonLimit: '16kb', formLimit: '16kb', encoding: 'utf-8' });
  // A usage report names up to MAX_REPORTED_KEYS clients (about 100 bytes each at their longest):
  // 16 kB held 160 of them, so a guard with more busy clients had every report refused (413).
  const parseReport = parseBody({ enableTypes: ['json'], jsonLimit: '128kb', encoding: 'utf-8' });
  // A batch holds up to MAX_BATCH keys or access tokens (about 1 kB each for a JWT).
  const parseBatch = parseReport;

  function refuse(ctx: Ctx, status: number, error: string, message: string) {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="keyport"');
    ctx.body = { error, message };
  }

  /** A refusal thrown by a step (a bad field, a limit) answers its class's one body (errors.ts). */
  async function answerRefusals(ctx: Ctx, next: Koa.Next) {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof KeyportError)) throw err;
      refuse(ctx, err.status, err.code, err.message);
      ctx.set(err.headers());
      ctx.body = err.body();
    }
  }

  /** The resource server's credentials: Basic (RFC 6749 §2.3.1, raw or form-encoded) or client_id/client_secret in the body. */
  function credentialsOf(ctx: Ctx): { id: string; secrets: string[] } | undefined {
    const header = ctx.get('authorization');
    if (/^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 1) return undefined;
      const [id, secret] = [decoded.slice(0, i), decoded.slice(i + 1)];
      const formDecoded = (part: string) => {
        try {
          return decodeURIComponent(part.replace(/\+/g, '%20'));
        } catch {
          return part;
        }
      };
      return { id: formDecoded(id), secrets: [...new Set([secret, formDecoded(secret)])] };
    }
    const body = (ctx.request as unknown as { body?: Record<string, unknown> }).body ?? {};
    return typeof body.client_id === 'string' && typeof body.client_secret === 'string'
      ? { id: body.client_id, secrets: [body.client_secret] }
      : undefined;
  }

  async function requireResourceServer(ctx: Ctx, next: Koa.Next) {
    const given = credentialsOf(ctx);
    if (!given || given.id.length > 64)
      return refuse(ctx, 401, 'invalid_client', 'authenticate as a resource server (client_id and client_secret)');
    // As at /token: a throttled source address is refused before anything else is looked up.
    const wait = await failures.retryAfter({ address: ctx.ip });
    if (wait > 0) {
      noteRateLimit(ctx.state, 'auth_failures');
      throw new RateLimitExceeded(wait, 'too many failed authentications');
    }
    const caller = await callerById(given.id);
    const now = Math.floor(Date.now() / 1000);
    try {
      const ok =
        caller?.kind === 'resource_server' &&
        isValid(caller, now) &&
        (await secretMatches(secrets, {
          clientId: caller.clientId,
          secrets: given.secrets,
          hashes: [caller.secretHash, (caller.previousSecretExpiresAt ?? 0) > now ? caller.previousSecretHash : null],
          address: ctx.ip,
        }));
      if (!ok) {
        // A made-up client_id counts against its address only: no counter is keyed by a value anyone can invent.
        await failures.failed({ clientId: caller?.clientId, address: ctx.ip });
        noteAuthFailure(ctx.state, caller ? 'wrong_secret' : 'unknown_client');
        return refuse(ctx, 401, 'invalid_client', 'client authentication failed');
      }
    } catch (err) {
      if (!(err instanceof ClientThrottled)) throw err;
      noteRateLimit(ctx.state, err.reason);
      throw new RateLimitExceeded(err.retryAfter, 'too many failed authentications');
    }
    ctx.state.route = ctx.path;
    ctx.state.caller = { clientId: caller.clientId, environment: caller.environment };
    await next();
  }

  /**
   * Each verification also counts against the calling resource server's own
   * budget (the same counters as its token and introspection requests):
   * over it, 429 with Retry-After, before the key's budget is touched.
   */
  async function countCaller(ctx: Ctx, next: Koa.Next) {
    await spendCaller(ctx, 1);
    await next();
  }

  /** `verifications` of the calling resource server's own budget; over it, RateLimitExceeded. */
  async function spendCaller(ctx: Ctx, verifications: number) {
    const { clientId, environment } = ctx.state.caller as { clientId: string; environment: string };
    const limits = plans.limitsFor({ environment, kind: 'resource_server' });
    // A batch over what is left is refused whole: it spends none of it (nothing is verified).
    const room = verifications > 1 ? await plans.peek(clientId, limits) : undefined;
    const verdict =
      room && room.room < verifications
        ? { ...room, allowed: false }
        : await plans.consume(clientId, limits, verifications);
    if (!verdict.allowed) {
      noteRateLimit(ctx.state, 'resource_server_rate_limit');
      throw new RateLimitExceeded(verdict.retryAfter, "the resource server's own rate limit is exceeded");
    }
  }

  router.post(
    R.verify.path,
    answerRefusals,
    parse as never,
    requireResourceServer,
    countCaller,
    guarded(R.verify, async (ctx: Ctx, { body }) => {
      const { client_id: _id, client_secret: _secret, ...request } = body;
      // No `ip`: the call is the resource server's own, from its address (as trusted_proxies yields it).
      const result = verifyAnswer(await verifier.verify({ ...request, ip: request.ip ?? ctx.ip }));
      ctx.set('Cache-Control', 'no-store');
      if (result.code !== 'NOT_FOUND' && result.ratelimit) {
        ctx.set({
          'X-RateLimit-Limit': String(result.ratelimit.limit),
          'X-RateLimit-Remaining': String(result.ratelimit.remaining),
          'X-RateLimit-Reset': String(result.ratelimit.reset),
        });
      }
      ctx.state.verifyCode = result.code;
      return result;
    }),
  );

  /**
   * `POST /keys/verify/batch`: up to MAX_BATCH verifications in one round
   * trip, each answered as /keys/verify answers it (a guard's lease renewals
   * for many busy keys). Each item is a verification of the caller's own
   * budget, spent once the whole body is valid; the items run together, so
   * their reads and counter writes share statements (src/batch.ts).
   */
  router.post(
    R.verifyBatch.path,
    answerRefusals,
    parseBatch as never,
    requireResourceServer,
    guarded(R.verifyBatch, async (ctx: Ctx, { body }) => {
      await spendCaller(ctx, body.items.length);
      const items = await Promise.all(
        body.items.map(async (request) =>
          verifyAnswer(await verifier.verify({ ...request, ip: request.ip ?? ctx.ip })),
        ),
      );
      ctx.set('Cache-Control', 'no-store');
      return { items };
    }),
  );

  /**
   * `POST /keys/usage`: a guard reports the calls it allowed from its leases
   * (within seconds of a key going quiet, and when it closes), so a key's
   * usage equals its calls. Charged to the resource server's own budget
   * like a verification; nothing of the keys' budgets is spent.
   */
  router.post(
    R.usage.path,
    answerRefusals,
    parseReport as never,
    requireResourceServer,
    countCaller,
    guarded(R.usage, async (ctx: Ctx, { body }) => {
      ctx.set('Cache-Control', 'no-store');
      return { counted: await leasedCalls.record(body.leased_calls) };
    }),
  );

  /**
   * `GET /keys/events`: a server-sent event stream of key changes for the
   * guards: `data: {"client_id":…}` when a key changed (drop what is cached
   * about it), and a `: beat` comment after each read that found nothing
   * more. A guard trusts its cache only while beats arrive.
   */
  router.get(
    R.events.path,
    answerRefusals,
    requireResourceServer,
    guarded(R.events, async (ctx: Ctx) => {
      const callerId = (ctx.state.caller as { clientId: string }).clientId;
      if (events.held(callerId) >= STREAMS_PER_CALLER)
        throw new RateLimitExceeded(
          STREAM_RETRY_AFTER_SECONDS,
          `at most ${STREAMS_PER_CALLER} event streams per resource server and process`,
        );
      const stream = new PassThrough();
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      ctx.body = stream;
      const stop = events.subscribe({
        callerId,
        change: (clientId) => stream.write(`data: ${JSON.stringify({ client_id: clientId })}\n\n`),
        beat: () => stream.write(': beat\n\n'),
        end: () => stream.end(),
      });
      stream.on('close', stop);
      ctx.req.on('close', () => stream.destroy());
    }),
  );

  return router;
}
