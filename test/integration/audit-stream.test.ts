import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = 'operator-token-for-the-audit-stream-0123456789';

interface SseEvent {
  id?: string;
  event?: string;
  data: Record<string, unknown>;
}

/** An open `GET /api/events/stream`, read as EventSource would: events parsed as they arrive. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/events/stream`, {
    headers: { authorization: `Bearer ${OPERATOR}`, ...headers },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  let retry: string | undefined;
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => line && !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
          );
          if (fields.retry) retry = fields.retry;
          if (fields.data) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
          for (const wake of waiters.splice(0)) wake();
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    get retry() {
      return retry;
    },
    /** Waits until `test` holds of the events received (bounded by the test's timeout). */
    async until(test: (events: SseEvent[]) => boolean) {
      while (!test(events)) await new Promise<void>((resolve) => waiters.push(resolve));
      return events;
    },
    close: () => abort.abort(),
  };
}

/** Issue 26 item 6: the operator follows every team's audit events without polling. */
describe.each(DATABASES)('the audit event stream on $name', (database) => {
  let server: TestServer;
  let other: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;

  const create = (on: TestServer, team: number, name: string, token = OPERATOR) =>
    fetch(`${on.url}/api/teams/${team}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, kind: 'service_account' }),
    });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const settings = { admin_token: OPERATOR, plans: { pro: { api_access: true, max_keys: 50 } } };
    server = await startServer(created.url, settings);
    other = await startServer(created.url, settings);
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await other?.close();
    await server?.close();
    await drop?.();
  });

  it("streams every team's events as they happen, from any process, with ids and never a secret", async () => {
    const stream = await openStream(server.url);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.res.headers.get('cache-control')).toBe('no-store');

    const a = await create(server, teamA, 'stream-a');
    expect(a.status).toBe(201);
    const made = (await a.json()) as { client_id: string; client_secret: string };
    // Written by the other process on the same database.
    expect((await create(other, teamB, 'stream-b')).status).toBe(201);

    const events = await stream.until((e) => e.length >= 2);
    stream.close();
    expect(events.map((e) => [e.event, e.data.team_id, e.data.action])).toEqual([
      ['audit', teamA, 'client.create'],
      ['audit', teamB, 'client.create'],
    ]);
    expect(events[0]!.data).toMatchObject({ client_id: made.client_id, actor: { type: 'operator' }, status: 201 });
    expect(events[0]!.id).toBe(String(events[0]!.data.id));
    expect(Number(events[1]!.id)).toBeGreaterThan(Number(events[0]!.id));
    expect(stream.retry).toBe('2000');
    expect(JSON.stringify(events)).not.toContain(made.client_secret);
  });

  it('a client that reconnects with Last-Event-ID gets what it missed, and nothing twice', async () => {
    const first = await openStream(server.url);
    await create(server, teamA, 'before-drop');
    const [seen] = await first.until((e) => e.length >= 1);
    first.close();
    // Made while nobody listened.
    await create(server, teamA, 'missed-1');
    await create(other, teamB, 'missed-2');

    const again = await openStream(server.url, { 'last-event-id': seen!.id! });
    const events = await again.until((e) => e.length >= 2);
    await create(server, teamA, 'after-reconnect');
    await again.until((e) => e.length >= 3);
    again.close();
    const names = await Promise.all(
      events.map(async (e) => (await server.keyport.clientService.get(String(e.data.client_id))).name),
    );
    expect(names).toEqual(['missed-1', 'missed-2', 'after-reconnect']);
    // The same resume point as a query parameter, for clients that cannot set headers.
    const byQuery = await fetch(`${server.url}/api/events/stream?last_event_id=${seen!.id}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
      signal: AbortSignal.timeout(60_000),
    });
    expect(byQuery.status).toBe(200);
    await byQuery.body?.cancel();
  });

  it("is the operator's only: no token 401, a team's keys:manage key 403, a bad Last-Event-ID 400", async () => {
    const none = await fetch(`${server.url}/api/events/stream`);
    expect(none.status).toBe(401);
    const key = await server.keyport.clientService.createServiceAccount({
      teamId: teamA,
      name: 'team-admin-key',
      scopes: ['api:read', 'keys:manage'],
    });
    const team = await fetch(`${server.url}/api/events/stream`, {
      headers: { authorization: `Bearer ${key.clientSecret}` },
    });
    expect(team.status).toBe(403);
    expect(await team.json()).toMatchObject({
      error: 'insufficient_permissions',
      message: 'only the operator (KEYPORT_ADMIN_TOKEN) may call this route',
    });
    for (const bad of ['abc', '-1', '1e3']) {
      const res = await fetch(`${server.url}/api/events/stream`, {
        headers: { authorization: `Bearer ${OPERATOR}`, 'last-event-id': bad },
      });
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    }
    const query = await fetch(`${server.url}/api/events/stream?last_event_id=x`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(query.status).toBe(400);
    expect(((await query.json()) as { message: string }).message).toBe(
      'last_event_id: must be a whole number (an event id)',
    );
  });

  it('at most 16 streams per process: the next is 429 with Retry-After, and a closed one frees its place', async () => {
    const open = await Promise.all(Array.from({ length: 16 }, () => openStream(server.url)));
    expect(open.map((s) => s.res.status)).toEqual(Array(16).fill(200));
    const refused = await fetch(`${server.url}/api/events/stream`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    open[0]!.close();
    // The server notices the closed connection; a new stream is then accepted.
    let status = 429;
    while (status === 429) {
      const res = await fetch(`${server.url}/api/events/stream`, { headers: { authorization: `Bearer ${OPERATOR}` } });
      status = res.status;
      await res.body?.cancel();
    }
    expect(status).toBe(200);
    for (const s of open) s.close();
  });
});
