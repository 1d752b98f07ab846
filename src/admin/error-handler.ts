import type Koa from 'koa';
import { KeyportError, type ErrorBody } from '../errors.js';
import type { AuditStore } from '../audit/audit.js';
import type { AdminState } from './state.js';

/**
 * Every admin answer that is not a success is `{error, message}` (docs/contract.md).
 * A client's mistake is a 4xx naming what to fix; anything else is a bare 500
 * with no stack or SQL. Failed calls of a known caller are recorded in the
 * team's audit log; an anonymous failure writes nothing durable (it is
 * counted in the request metrics and throttled per address instead).
 */
export function adminErrors(audit: AuditStore): Koa.Middleware<AdminState> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const { status, body } = describe(err);
      const code = body.error;
      ctx.status = status;
      if (err instanceof KeyportError) ctx.set(err.headers());
      // The admin API's refusals all carry a message (docs/contract.md, Admin API).
      ctx.body = body;
      if (status === 401) ctx.set('WWW-Authenticate', `Bearer realm="keyport", error="invalid_token"`);
      if (status >= 500 && status !== 503) console.error('admin API error:', (err as Error).message);
      const teamId = Number(ctx.params?.team);
      const caller = ctx.state.caller;
      // An outage (503) is not the caller's doing, and its audit row could not be written anyway.
      if (!caller || status === 503) return;
      await audit
        .record({
          teamId:
            Number.isSafeInteger(teamId) &&
            (caller.type === 'operator' || ('teamId' in caller && caller.teamId === teamId))
              ? teamId
              : null,
          actorType: caller.type,
          actorId: caller.id,
          action: 'request.failed',
          clientId: typeof ctx.params?.client_id === 'string' ? ctx.params.client_id.slice(0, 64) : null,
          status,
          ip: ctx.ip,
          details: { method: ctx.method, path: ctx.path.slice(0, 200), error: code },
        })
        .catch(() => undefined);
    }
  };
}

function describe(err: unknown): { status: number; body: ErrorBody & { message: string } } {
  if (err instanceof KeyportError) return { status: err.status, body: { ...err.body(), message: err.message } };
  const status = (err as { status?: number }).status;
  const refusal = (status: number, error: string, message: string) => ({ status, body: { error, message } });
  // koa-bodyparser and co-body errors: oversized or unreadable bodies.
  if (status === 413) return refusal(413, 'invalid_request', 'body: the request body is too large');
  if (status && status >= 400 && status < 500) return refusal(400, 'invalid_request', 'body: must be a JSON object');
  return refusal(500, 'server_error', 'internal error');
}
