import type Router from '@koa/router';
import type { RouterMiddleware } from '@koa/router';
import { PassThrough } from 'node:stream';
import type { AuditStreams } from '../audit/audit-stream.js';
import { InvalidRequest, RateLimitExceeded } from '../errors.js';
import { guarded } from '../web/route.js';
import { ADMIN_ROUTES as R } from './routes.js';
import type { AdminState } from './state.js';

/** Streams open at once in one process; a SIEM needs one or two. */
export const AUDIT_STREAMS_PER_PROCESS = 16;
const RETRY_AFTER_SECONDS = 30;
/** A comment at least this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * `GET /api/events/stream` (docs/contract.md, Admin API): every team's audit
 * events for the operator, as server-sent events. Each event carries its id,
 * so a client that reconnects with Last-Event-ID (EventSource does) resumes
 * after the last event it received.
 */
export function addAuditStream(
  router: Router<AdminState>,
  { operatorSteps, streams }: { operatorSteps: readonly RouterMiddleware<AdminState>[]; streams: AuditStreams },
): void {
  router.get(
    R.eventStream.path.replace(/^\/api/, ''),
    ...operatorSteps,
    guarded(R.eventStream, async (ctx, { query }) => {
      const header = ctx.get('last-event-id');
      if (header !== '' && !/^\d{1,15}$/.test(header))
        throw new InvalidRequest('Last-Event-ID', 'must be the id of an event this stream sent');
      const afterId = header !== '' ? Number(header) : query.last_event_id;
      if (streams.open >= AUDIT_STREAMS_PER_PROCESS)
        throw new RateLimitExceeded(
          RETRY_AFTER_SECONDS,
          `at most ${AUDIT_STREAMS_PER_PROCESS} audit streams per process`,
        );

      const stream = new PassThrough();
      let lastWrite = Date.now();
      const write = (text: string) => {
        lastWrite = Date.now();
        stream.write(text);
      };
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      ctx.body = stream;
      // The first line tells a reconnecting EventSource how long to wait.
      write('retry: 2000\n\n');
      const stop = await streams.follow(afterId, {
        event: (event) => write(`id: ${event.id}\nevent: audit\ndata: ${JSON.stringify(event)}\n\n`),
        beat: () => {
          if (Date.now() - lastWrite >= KEEP_ALIVE_MS) write(': beat\n\n');
        },
        end: () => stream.end(),
      });
      stream.on('close', stop);
      ctx.req.on('close', () => stream.destroy());
    }),
  );
}
