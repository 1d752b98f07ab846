import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.js';
import { manualClock } from '../../src/clock.js';

const OPERATOR = 'operator-token-for-the-webhook-tests-0123456789';

interface Received {
  readonly id: string;
  readonly body: { type: string; timestamp: string; data: Record<string, unknown> };
  readonly raw: string;
}

/**
 * A real webhook receiver: every request is verified with the standardwebhooks
 * library against `secret` (set once the endpoint is registered); it answers
 * `status` (503 while "down") and wakes whoever waits for a count.
 */
async function startReceiver(port = 0) {
  const received: Received[] = [];
  const refused: string[] = [];
  const waiters: Array<() => void> = [];
  const state = { secret: '', status: 204 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        new Webhook(state.secret).verify(raw, req.headers as Record<string, string>);
      } catch (err) {
        refused.push((err as Error).message);
        res.writeHead(400).end();
        return;
      }
      if (state.status < 300) received.push({ id: String(req.headers['webhook-id']), body: JSON.parse(raw), raw });
      res.writeHead(state.status).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    refused,
    state,
    async until(test: (received: Received[]) => boolean) {
      while (!test(received)) await new Promise<void>((resolve) => waiters.push(resolve));
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const api = async (on: TestServer, method: string, path: string, body?: unknown, token = OPERATOR) => {
  const res = await fetch(`${on.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
};

/** Waits, without a fixed sleep, until the delivery log of `endpoint` satisfies `test`. */
async function untilDeliveries(
  on: TestServer,
  path: string,
  test: (data: Array<Record<string, unknown>>) => boolean,
): Promise<Array<Record<string, unknown>>> {
  for (;;) {
    const { body } = await api(on, 'GET', path);
    if (test(body.data)) return body.data;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const ALLOW_PRIVATE = {
  plans: { pro: { api_access: true, max_keys: 100 } },
  webhook_allow_private_addresses: true,
  webhook_retry_base_ms: 1,
  webhook_poll_ms: 20,
};

/** Issue 26 item 4: webhooks for key events, signed per Standard Webhooks, from a durable outbox. */
describe.each(DATABASES)('webhooks on $name', (database) => {
  let server: TestServer;
  let other: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR, ...ALLOW_PRIVATE });
    // A second keyport on the same database and KEYS_DIR: both run the delivery job.
    other = await startServer(created.url, {
      admin_token: OPERATOR,
      ...ALLOW_PRIVATE,
      keys_dir: server.config.keysDir,
    });
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
  });

  afterAll(async () => {
    await other?.close();
    await server?.close();
    await drop?.();
  });

  async function register(receiver: Receiver, team: number, events = ['key.created', 'key.revoked']) {
    const res = await api(server, 'POST', `/api/teams/${team}/webhooks`, { url: receiver.url, events });
    expect(res.status).toBe(201);
    receiver.state.secret = res.body.secret;
    return res.body as { id: string; secret: string; url: string; events: string[] };
  }

  it('a key created and revoked through the admin API reaches the endpoint, signed, with no secret', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await register(receiver, teamA);
      expect(endpoint.secret).toMatch(/^whsec_/);
      const created = await api(server, 'POST', `/api/teams/${teamA}/clients`, {
        name: 'billing',
        kind: 'service_account',
      });
      expect(created.status).toBe(201);
      const clientId = created.body.client_id as string;
      expect((await api(server, 'DELETE', `/api/teams/${teamA}/clients/${clientId}`)).status).toBe(204);

      const got = await receiver.until((r) => r.length >= 2);
      expect(receiver.refused).toEqual([]);
      expect(got.map((r) => r.body.type).sort()).toEqual(['key.created', 'key.revoked']);
      for (const r of got) {
        expect(r.body.data).toMatchObject({ team_id: teamA, client_id: clientId, name: 'billing' });
        expect(r.raw).not.toContain(created.body.client_secret);
        expect(r.raw).not.toContain(endpoint.secret);
      }

      // The list never shows the secret; the delivery log shows each attempt.
      const list = await api(server, 'GET', `/api/teams/${teamA}/webhooks`);
      expect(list.status).toBe(200);
      expect(list.text).not.toContain(endpoint.secret.slice(6));
      expect(list.body.data).toEqual([expect.objectContaining({ id: endpoint.id, url: receiver.url })]);
      const log = await untilDeliveries(server, `/api/teams/${teamA}/webhooks/${endpoint.id}/deliveries`, (d) =>
        d.every((x) => x.status === 'delivered'),
      );
      expect(log).toHaveLength(2);
      expect(log[0]).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 204 });
      expect(typeof log[0]!.last_latency_ms).toBe('number');

      // The stored secret is encrypted, never in clear.
      const rows = (await server.keyport.db('webhook_endpoints').select('*')) as Array<Record<string, unknown>>;
      expect(JSON.stringify(rows)).not.toContain(endpoint.secret.slice(6));

      // Send again: the same event, signed again, reaches the endpoint a second time.
      const again = await api(
        server,
        'POST',
        `/api/teams/${teamA}/webhooks/${endpoint.id}/deliveries/${log[0]!.id as string}/retry`,
      );
      expect(again.status).toBe(202);
      await receiver.until((r) => r.length >= 3);
      expect(receiver.received[2]!.id).toBe(log[0]!.id);
      expect((await api(server, 'DELETE', `/api/teams/${teamA}/webhooks/${endpoint.id}`)).status).toBe(204);
    } finally {
      await receiver.close();
    }
  });

  it('an endpoint that was down gets the event once it is up again (backoff, no sleep)', async () => {
    const receiver = await startReceiver();
    try {
      receiver.state.status = 503;
      const endpoint = await register(receiver, teamA, ['key.created']);
      const created = await api(server, 'POST', `/api/teams/${teamA}/clients`, {
        name: 'late',
        kind: 'service_account',
      });
      const path = `/api/teams/${teamA}/webhooks/${endpoint.id}/deliveries`;
      const failing = await untilDeliveries(server, path, (d) => d.length === 1 && (d[0]!.attempts as number) >= 2);
      expect(failing[0]).toMatchObject({ status: 'pending', last_status_code: 503 });
      expect(Date.parse(String(failing[0]!.next_attempt_at))).toBeGreaterThan(0);
      receiver.state.status = 200;
      const got = await receiver.until((r) => r.length >= 1);
      expect(got[0]!.body).toMatchObject({ type: 'key.created', data: { client_id: created.body.client_id } });
      await untilDeliveries(server, path, (d) => d[0]!.status === 'delivered');
      await api(server, 'DELETE', `/api/teams/${teamA}/webhooks/${endpoint.id}`);
    } finally {
      await receiver.close();
    }
  });

  it('a one-time link opened sends share_link.opened, once, naming the key and never its secret', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await register(receiver, teamA, ['share_link.opened']);
      const created = await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'handed' });
      const link = new URL((await server.keyport.clientService.handOver(created, {})).share_url!);
      const reveal = () =>
        fetch(`${server.url}${link.pathname}/reveal`, { method: 'POST', headers: { 'x-keyport-reveal': '1' } });
      expect((await reveal()).status).toBe(200);
      expect((await reveal()).status).toBe(410);
      const got = await receiver.until((r) => r.length >= 1);
      expect(got[0]!.body).toMatchObject({
        type: 'share_link.opened',
        data: { team_id: teamA, client_id: created.client.client_id, name: 'handed' },
      });
      expect(got[0]!.raw).not.toContain(created.clientSecret!);
      const log = await untilDeliveries(server, `/api/teams/${teamA}/webhooks/${endpoint.id}/deliveries`, (d) =>
        d.every((x) => x.status === 'delivered'),
      );
      expect(log).toHaveLength(1);
      await api(server, 'DELETE', `/api/teams/${teamA}/webhooks/${endpoint.id}`);
    } finally {
      await receiver.close();
    }
  });

  it('two keyport processes on one database deliver each event once', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await register(receiver, teamB, ['key.created']);
      const keys = 12;
      for (let i = 0; i < keys; i += 1) {
        const on = i % 2 ? other : server;
        expect(
          (await api(on, 'POST', `/api/teams/${teamB}/clients`, { name: `k${i}`, kind: 'service_account' })).status,
        ).toBe(201);
      }
      await receiver.until((r) => r.length >= keys);
      const log = await untilDeliveries(
        server,
        `/api/teams/${teamB}/webhooks/${endpoint.id}/deliveries`,
        (d) => d.length === keys && d.every((x) => x.status === 'delivered'),
      );
      // Each delivery was attempted once, by one process: no second claim of the same row.
      expect(log.every((x) => x.attempts === 1)).toBe(true);
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(receiver.received.length);
      expect(receiver.received).toHaveLength(keys);
      await api(server, 'DELETE', `/api/teams/${teamB}/webhooks/${endpoint.id}`);
    } finally {
      await receiver.close();
    }
  });

  it("tenant isolation: team B's caller cannot list, read or delete team A's endpoints (404)", async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await register(receiver, teamA, ['key.created']);
      const b = await server.keyport.clientService.createServiceAccount({
        teamId: teamB,
        name: 'b-admin',
        scopes: ['keys:manage'],
      });
      // A keys:manage key is an admin-API caller of its own team (docs/contract.md, Admin API).
      const token = b.clientSecret!;
      expect((await api(server, 'GET', `/api/teams/${teamA}/webhooks`, undefined, token)).status).toBe(404);
      expect(
        (await api(server, 'DELETE', `/api/teams/${teamA}/webhooks/${endpoint.id}`, undefined, token)).status,
      ).toBe(404);
      // In its own team, another team's endpoint id is unknown.
      expect(
        (await api(server, 'DELETE', `/api/teams/${teamB}/webhooks/${endpoint.id}`, undefined, token)).status,
      ).toBe(404);
      expect(
        (await api(server, 'GET', `/api/teams/${teamB}/webhooks/${endpoint.id}/deliveries`, undefined, token)).status,
      ).toBe(404);
      const own = await api(server, 'GET', `/api/teams/${teamB}/webhooks`, undefined, token);
      expect(own.status).toBe(200);
      expect(own.body.data.map((e: { id: string }) => e.id)).not.toContain(endpoint.id);
      await api(server, 'DELETE', `/api/teams/${teamA}/webhooks/${endpoint.id}`);
    } finally {
      await receiver.close();
    }
  });

  it('the operator registers a product-wide endpoint that hears every team', async () => {
    const receiver = await startReceiver();
    try {
      const res = await api(server, 'POST', '/api/webhooks', { url: receiver.url, events: ['key.revoked'] });
      expect(res.status).toBe(201);
      receiver.state.secret = res.body.secret;
      const created = await api(server, 'POST', `/api/teams/${teamB}/clients`, {
        name: 'gone',
        kind: 'service_account',
      });
      await api(server, 'DELETE', `/api/teams/${teamB}/clients/${created.body.client_id}`);
      const got = await receiver.until((r) => r.length >= 1);
      expect(got[0]!.body).toMatchObject({ type: 'key.revoked', data: { team_id: teamB } });
      expect((await api(server, 'GET', '/api/webhooks')).body.data).toEqual([
        expect.objectContaining({ id: res.body.id }),
      ]);
      expect((await api(server, 'DELETE', `/api/webhooks/${res.body.id}`)).status).toBe(204);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook endpoints and server-side request forgery', () => {
  let server: TestServer;

  beforeAll(async () => {
    const created = await DATABASES[0]!.create();
    server = await startServer(created.url, { admin_token: OPERATOR });
  });
  afterAll(() => server?.close());

  it.each([
    'https://127.0.0.1/hook',
    'https://10.0.0.1/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://localhost/hook',
    'http://example.com/hook',
  ])('by default %s is refused with 400 invalid_request and nothing is stored', async (url) => {
    const team = (await server.keyport.teamService.createTeam({ name: 'ssrf', plan: 'pro' })).id;
    const res = await api(server, 'POST', `/api/teams/${team}/webhooks`, { url, events: ['key.created'] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request' });
    expect((await api(server, 'GET', `/api/teams/${team}/webhooks`)).body.data).toEqual([]);
  });

  it('a delivery to an address that became private is refused at connection time, and nothing is sent', async () => {
    const receiver = await startReceiver();
    try {
      const team = (await server.keyport.teamService.createTeam({ name: 'rebound', plan: 'pro' })).id;
      const res = await api(server, 'POST', `/api/teams/${team}/webhooks`, {
        url: 'https://93.184.216.34/hook',
        events: ['key.created'],
      });
      expect(res.status).toBe(201);
      // As if its name now resolved to this host (DNS rebinding): the row is pointed at loopback.
      await server.keyport
        .db('webhook_endpoints')
        .where({ id: res.body.id })
        .update({ url: receiver.url.replace('http:', 'https:') });
      await api(server, 'POST', `/api/teams/${team}/clients`, { name: 'k', kind: 'service_account' });
      const log = await untilDeliveries(server, `/api/teams/${team}/webhooks/${res.body.id}/deliveries`, (d) =>
        Boolean(d[0]?.last_error),
      );
      expect(log[0]).toMatchObject({ status: 'pending', last_error: 'private address refused' });
      expect(receiver.received).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('an unknown event type is refused with 400', async () => {
    const res = await api(server, 'POST', '/api/webhooks', { url: 'https://example.com/h', events: ['key.exploded'] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request' });
  });
});

describe('a failing webhook endpoint (SQLite, a clock moved by hand)', () => {
  const clock = manualClock();
  let server: TestServer;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    const created = await DATABASES[0]!.create();
    smtp = await startSmtpServer();
    server = await startServer(
      created.url,
      {
        admin_token: OPERATOR,
        smtp_url: smtp.url,
        log_level: 'warn',
        webhook_allow_private_addresses: true,
        webhook_poll_ms: 20,
        webhook_timeout_ms: 1000,
      },
      { clock, captureLog: true },
    );
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('an endpoint that never answers does not hold up the request that made the change', async () => {
    // Accepts the request and never answers; counts the requests it holds open.
    let held = 0;
    let firstHeld!: () => void;
    const holding = new Promise<void>((resolve) => (firstHeld = resolve));
    const hung = createServer((req) => {
      held += 1;
      req.on('close', () => (held -= 1));
      firstHeld();
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const team = (await server.keyport.teamService.createTeam({ name: 'slow', plan: 'pro' })).id;
      const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/hook`;
      const endpoint = (await api(server, 'POST', `/api/teams/${team}/webhooks`, { url, events: ['key.created'] }))
        .body;
      expect(
        (await api(server, 'POST', `/api/teams/${team}/clients`, { name: 'a', kind: 'service_account' })).status,
      ).toBe(201);
      await holding;
      // While that delivery hangs, the next change is answered at once.
      const made = await api(server, 'POST', `/api/teams/${team}/clients`, { name: 'b', kind: 'service_account' });
      expect(made.status).toBe(201);
      expect(held).toBeGreaterThanOrEqual(1);
      const log = await untilDeliveries(server, `/api/teams/${team}/webhooks/${endpoint.id}/deliveries`, (d) =>
        d.some((x) => Boolean(x.last_error)),
      );
      const failed = log.find((x) => x.last_error)!;
      expect(failed).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
      expect(failed.last_error).toMatch(/no answer within 1000 ms/);
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });

  it('after a day of failures the delivery gives up and the endpoint is disabled, logged without its secret', async () => {
    const receiver = await startReceiver();
    try {
      receiver.state.status = 503;
      const team = (await server.keyport.teamService.createTeam({ name: 'down', plan: 'pro' })).id;
      const { teamService } = server.keyport;
      await teamService.addPerson({ teamId: team, email: 'owner@down.test', password: 'Down-Pass-123', role: 'admin' });
      await teamService.addPerson({ teamId: team, email: 'dev@down.test', password: 'Down-Pass-123', role: 'member' });
      const res = await api(server, 'POST', `/api/teams/${team}/webhooks`, {
        url: receiver.url,
        events: ['key.created'],
      });
      receiver.state.secret = res.body.secret;
      await api(server, 'POST', `/api/teams/${team}/clients`, { name: 'one', kind: 'service_account' });
      const path = `/api/teams/${team}/webhooks/${res.body.id}/deliveries`;
      await untilDeliveries(server, path, (d) => d[0]?.attempts === 1 && d[0]?.last_status_code === 503);
      // The next attempt is 30 s later by the default backoff: a day and an hour on, it is due and fails again.
      clock.advance(25 * 3_600_000);
      const log = await untilDeliveries(server, path, (d) => d[0]?.status === 'failed');
      expect(log[0]).toMatchObject({ attempts: 2, next_attempt_at: null });
      const list = async () => (await api(server, 'GET', `/api/teams/${team}/webhooks`)).body.data[0];
      while (!(await list()).disabled_at) await new Promise((resolve) => setImmediate(resolve));
      const lines = server.logLines().filter((l) => l.endpoint_id === res.body.id);
      expect(lines.map((l) => l.msg)).toContain(
        'a webhook endpoint failed for longer than webhook_retry_for_ms and was disabled',
      );
      expect(JSON.stringify(server.logLines())).not.toContain(String(res.body.secret).slice(6));
      // The team's admins are told, once, by mail (the members are not); never with the secret.
      while (!smtp.mails.some((m) => /disabled/.test(m.subject))) await new Promise((r) => setTimeout(r, 20));
      const told = smtp.mails.filter((m) => /disabled/.test(m.subject));
      expect(told).toHaveLength(1);
      expect(told[0]!.to).toEqual(['owner@down.test']);
      expect(told[0]!.text).toContain(new URL(receiver.url).host);
      expect(told[0]!.text).not.toContain(String(res.body.secret).slice(6));
      // A disabled endpoint hears no new events.
      await api(server, 'POST', `/api/teams/${team}/clients`, { name: 'two', kind: 'service_account' });
      expect((await api(server, 'GET', path)).body.data).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});
