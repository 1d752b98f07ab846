import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { manualClock } from '../../src/clock.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = 'operator-token-for-the-expiry-webhook-0123456789';

/** Issue 26 items 4 and 5: a reminder fires the `key.expiring` webhook, once, signed, with no secret. */
describe.each(DATABASES)('the key.expiring webhook on $name', (database) => {
  let server: TestServer;
  let receiver: Server;
  let drop: () => Promise<void>;
  const received: Array<{ body: Record<string, any>; raw: string }> = [];
  const waiters: Array<() => void> = [];
  const state = { secret: '' };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        new Webhook(state.secret).verify(raw, req.headers as Record<string, string>);
        received.push({ body: JSON.parse(raw), raw });
        res.writeHead(204).end();
        for (const wake of waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    server = await startServer(
      created.url,
      { admin_token: OPERATOR, webhook_allow_private_addresses: true, webhook_poll_ms: 20 },
      { clock: manualClock(Date.now()) },
    );
  });
  afterAll(async () => {
    await server?.close();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    await drop?.();
  });

  it('a key expiring in 7 days: one signed key.expiring delivery naming the key, however often the job runs', async () => {
    const team = await server.keyport.teamService.createTeam({ name: 'Hooked', plan: 'pro' });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const res = await fetch(`${server.url}/api/teams/${team.id}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['key.expiring', 'key.expired'] }),
    });
    expect(res.status).toBe(201);
    const endpoint = (await res.json()) as { id: string; secret: string };
    state.secret = endpoint.secret;
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: team.id,
      name: 'hooked-billing',
      expiresInDays: 7,
    });
    const clientId = created.client.client_id;
    await server.keyport.reminders.run();
    await server.keyport.reminders.run();
    while (!received.length) await new Promise<void>((resolve) => waiters.push(resolve));

    const [first] = received;
    expect(first!.body.type).toBe('key.expiring');
    expect(first!.body.data).toMatchObject({
      team_id: team.id,
      client_id: clientId,
      name: 'hooked-billing',
      environment: 'prod',
      reason: 'expires',
      threshold_days: 7,
    });
    expect(Date.parse(first!.body.data.expires_at as string)).toBe(
      (Math.floor(server.keyport.clock.now() / 1000) + 7 * 86_400) * 1000,
    );
    expect(first!.raw).not.toContain(created.clientSecret!);
    const log = await fetch(`${server.url}/api/teams/${team.id}/webhooks/${endpoint.id}/deliveries`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    }).then((r) => r.json() as Promise<{ data: Array<{ event_type: string }> }>);
    expect(log.data.map((d) => d.event_type)).toEqual(['key.expiring']);
  });

  it('a key whose expires_at passes: one signed key.expired delivery naming the key, with no secret', async () => {
    const team = await server.keyport.teamService.createTeam({ name: 'Expired', plan: 'pro' });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gone`;
    const res = await fetch(`${server.url}/api/teams/${team.id}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['key.expired'] }),
    });
    expect(res.status).toBe(201);
    const endpoint = (await res.json()) as { id: string; secret: string };
    state.secret = endpoint.secret;
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: team.id,
      name: 'short-lived',
      expiresInDays: 1,
    });
    const clientId = created.client.client_id;
    received.length = 0;
    // Its moment passes: the day is made to have gone by (keyport's clock stays at the receiver's
    // time, which checks the signature's timestamp); the expiry-push job (every second) notices it.
    const passedS = Math.floor(server.keyport.clock.now() / 1000) - 1;
    await server.keyport.db('o_auth_clients').where({ client_id: clientId }).update({ expires_at: passedS });
    while (!received.some((r) => r.body.type === 'key.expired'))
      await new Promise<void>((resolve) => waiters.push(resolve));

    const expired = received.filter((r) => r.body.type === 'key.expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.body.data).toMatchObject({
      team_id: team.id,
      client_id: clientId,
      name: 'short-lived',
      environment: 'prod',
      expired_at: new Date(passedS * 1000).toISOString(),
    });
    expect(expired[0]!.raw).not.toContain(created.clientSecret!);
    const log = await fetch(`${server.url}/api/teams/${team.id}/webhooks/${endpoint.id}/deliveries`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    }).then((r) => r.json() as Promise<{ data: Array<{ event_type: string }> }>);
    expect(log.data.map((d) => d.event_type)).toEqual(['key.expired']);
  });
});
