import { PassThrough } from 'node:stream';
import Router, { type RouterContext } from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { z } from 'zod';
import { ClientThrottled, secretMatches, type SecretCheckDeps } from '../clients/authenticate.js';
import { isValid } from '../clients/client.js';
import type { ClientStore } from '../clients/store.js';
import { createBatcher } from '../batch.js';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { KeyEventHub } from '../events/key-events.js';
import type { KeyVerifier } from '../verification/verify.js';
import { verifyAnswer } from '../verification/wire.js';

/** The most calls one lease may hold. */
const MAX_LEASE = 1000;
/** Event streams one resource server may hold open on one process. */
const STREAMS_PER_CALLER = 32;

/** A key as it may arrive: printable ASCII, at most 512 characters (keyport's are under 60). */
const key = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII with no spaces');

const verifySchema = z.strictObject({
  key,
  cost: z.coerce.number().int().min(0).max(1000).default(1),
  scopes: z
    .union([
      z.array(z.string().min(1).max(100)).max(50),
      z
        .string()
        .max(2000)
        .transform((s) => s.split(' ').filter(Boolean)),
    ])
    .default([]),
  ip: z
    .string()
    .max(64)
    .regex(/^[0-9A-Fa-f:.]+$/, 'must be an IP address')
    .optional(),
  lease: z.coerce.number().int().min(0).max(MAX_LEASE).default(0),
  leased_calls: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

interface Deps {
  readonly verifier: KeyVerifier;
  readonly clients: ClientStore;
  readonly secrets: SecretCheckDeps;
  readonly failures: AuthFailures;
  readonly events: KeyEventHub;
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
export function createKeysRouter({ verifier, clients, secrets, failures, events }: Deps): Router {
  const router = new Router();
  // Concurrent verifications by the same resource servers share one read of their rows.
  const callerById = createBatcher((ids: readonly string[]) => clients.findManyById(ids));
  const parse = bodyParser({ enableTypes: ['json', 'form'], jsonLimit: '16kb', formLimit: '16kb', encoding: 'utf-8' });

  function refuse(ctx: Ctx, status: number, error: string, message: string) {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="keyport"');
    ctx.body = { error, message };
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
        await failures.failed({ clientId: given.id, address: ctx.ip });
        ctx.state.authFailureReason = caller ? 'wrong_secret' : 'unknown_client';
        return refuse(ctx, 401, 'invalid_client', 'client authentication failed');
      }
    } catch (err) {
      if (!(err instanceof ClientThrottled)) throw err;
      ctx.state.limitReason = err.reason;
      ctx.set('Retry-After', String(err.retryAfter));
      return refuse(ctx, 429, 'rate_limit_exceeded', 'too many failed authentications');
    }
    ctx.state.route = ctx.path;
    ctx.state.caller = { clientId: caller.clientId };
    await next();
  }

  router.post('/keys/verify', parse as never, requireResourceServer, async (ctx) => {
    const body = (ctx.request as unknown as { body?: unknown }).body ?? {};
    const {
      client_id: _id,
      client_secret: _secret,
      ...rest
    } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const parsed = verifySchema.safeParse(rest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.') || 'body';
      return refuse(
        ctx,
        400,
        'invalid_request',
        `${field}: ${issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message}`,
      );
    }
    const outcome = await verifier.verify(parsed.data);
    const answer = verifyAnswer(outcome);
    ctx.set('Cache-Control', 'no-store');
    if (answer.code !== 'NOT_FOUND' && answer.ratelimit) {
      ctx.set({
        'X-RateLimit-Limit': String(answer.ratelimit.limit),
        'X-RateLimit-Remaining': String(answer.ratelimit.remaining),
        'X-RateLimit-Reset': String(answer.ratelimit.reset),
      });
    }
    ctx.state.verifyCode = answer.code;
    ctx.body = answer;
  });

  /**
   * `GET /keys/events`: a server-sent event stream of key changes for the
   * guards: `data: {"client_id":…}` when a key changed (drop what is cached
   * about it), and a `: beat` comment after each read that found nothing
   * more. A guard trusts its cache only while beats arrive.
   */
  router.get('/keys/events', requireResourceServer, async (ctx) => {
    const callerId = (ctx.state.caller as { clientId: string }).clientId;
    if (events.held(callerId) >= STREAMS_PER_CALLER)
      return refuse(
        ctx,
        429,
        'rate_limit_exceeded',
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
  });

  return router;
}
