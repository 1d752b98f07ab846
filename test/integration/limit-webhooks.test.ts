import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { manualClock } from '../../src/clock.js';

const OPERATOR = 'operator-token-for-the-limit-webhook-tests-012345';
const MINUTE = 60_000;

type Row = Record<string, unknown>;

/**
 * Issue 26 item 4: `key.rate_limited` (once per key per rate-limit window) and
 * `credits.low` (once per crossing of credits_low_threshold), through the outbox,
 * with two keyport processes on one database and a real receiver.
 */
describe.each(DATABASES)('key.rate_limited and credits.low on $name', (database) => {
  // Both processes read this clock: the rate-limit windows move only when the test moves them.
  const clock = manualClock(Math.floor(Date.now() / MINUTE) * MINUTE + 1000);
  let one: TestServer;
  let two: TestServer;
  let drop: () => Promise<void>;
  let receiver: WebhookReceiver;
  let rs: { id: string; secret: string };
  /** INSERTs into key_rate_limit_notices, by either process. */
  let noticeInserts = 0;

  const settings = {
    admin_token: OPERATOR,
    plans: {
      tight: { api_access: true, max_keys: 100, rate_limits: [2, 1000, 10_000] },
      roomy: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    },
    credits_low_threshold: 3,
    webhook_allow_private_addresses: true,
    webhook_poll_ms: 20,
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    one = await startServer(created.url, settings, { clock });
    two = await startServer(created.url, { ...settings, keys_dir: one.config.keysDir }, { clock });
    for (const on of [one, two])
      on.keyport.db.on('query', (q: { sql: string }) => {
        if (/^insert/i.test(q.sql) && q.sql.includes('key_rate_limit_notices')) noticeInserts += 1;
      });
    const r = await one.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await two?.close();
    await one?.close();
    await drop?.();
  });

  const verify = async (on: TestServer, key: string) => {
    const res = await fetch(`${on.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return ((await res.json()) as { code: string; credits: { remaining: number } | null }).code;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${one.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** A team on the tight plan with an endpoint for `events`, heard by the receiver. */
  async function teamHearing(events: string[], plan = 'tight') {
    const teamId = (await one.keyport.teamService.createTeam({ name: events.join(','), plan })).id;
    const res = await api('POST', `/api/teams/${teamId}/webhooks`, { url: receiver.url, events });
    expect(res.status).toBe(201);
    receiver.state.secret = res.body.secret;
    return { teamId, endpointId: res.body.id as string };
  }
  const settle = () => Promise.all([one.keyport.limitNotices.settle(), two.keyport.limitNotices.settle()]);
  const deliveriesOf = async (endpointId: string) =>
    (await one.keyport.db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('created_at')) as Row[];
  const ofType = (type: string, clientId: string) =>
    receiver.received.filter((r) => r.body.type === type && r.body.data.client_id === clientId);

  it('a key refused for its rate limit by two processes is announced once per window, with no secret', async () => {
    const { teamId, endpointId } = await teamHearing(['key.rate_limited']);
    const key = await one.keyport.clientService.createServiceAccount({ teamId, name: 'busy', scopes: ['api:read'] });
    const secret = key.clientSecret!;
    const inserts = noticeInserts;
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push(await verify(i % 2 ? two : one, secret));
    expect(codes.slice(0, 2)).toEqual(['VALID', 'VALID']);
    expect(new Set(codes.slice(2))).toEqual(new Set(['RATE_LIMITED']));
    await settle();
    // Ten refusals, two processes: at most one attempt at the record per process, one record, one delivery.
    expect(noticeInserts - inserts).toBeLessThanOrEqual(2);
    expect(await one.keyport.db('key_rate_limit_notices').where({ client_id: key.client.client_id })).toHaveLength(1);
    expect(await deliveriesOf(endpointId)).toHaveLength(1);
    await receiver.until(() => ofType('key.rate_limited', key.client.client_id).length >= 1);
    const sent = ofType('key.rate_limited', key.client.client_id)[0]!;
    expect(sent.body.data).toEqual({
      team_id: teamId,
      client_id: key.client.client_id,
      name: 'busy',
      environment: 'prod',
      limit: 2,
      window_ends_at: new Date(Math.floor(clock.now() / MINUTE) * MINUTE + MINUTE).toISOString(),
    });
    expect(sent.raw).not.toContain(secret);

    // The next minute is a new window: refused again there, announced again, once.
    clock.advance(MINUTE);
    const next: string[] = [];
    for (let i = 0; i < 6; i++) next.push(await verify(i % 2 ? two : one, secret));
    expect(next).toEqual(['VALID', 'VALID', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    await settle();
    expect(await deliveriesOf(endpointId)).toHaveLength(2);
    await receiver.until(() => ofType('key.rate_limited', key.client.client_id).length >= 2);
    const both = ofType('key.rate_limited', key.client.client_id);
    expect(new Set(both.map((r) => r.id)).size).toBe(2);
    expect(both.map((r) => r.body.data.window_ends_at)).toEqual([
      sent.body.data.window_ends_at,
      new Date(Date.parse(String(sent.body.data.window_ends_at)) + MINUTE).toISOString(),
    ]);
  });

  it('a team with no endpoint for key.rate_limited writes no record at all', async () => {
    const { teamId } = await teamHearing(['key.created']);
    const key = await one.keyport.clientService.createServiceAccount({ teamId, name: 'quiet', scopes: ['api:read'] });
    for (let i = 0; i < 5; i++) await verify(i % 2 ? two : one, key.clientSecret!);
    await settle();
    expect(await one.keyport.db('key_rate_limit_notices').where({ client_id: key.client.client_id })).toEqual([]);
  });

  it('credits falling below credits_low_threshold are announced once per crossing, again after they are set anew', async () => {
    const { teamId, endpointId } = await teamHearing(['credits.low'], 'roomy');
    const key = await one.keyport.clientService.createServiceAccount({
      teamId,
      name: 'metered',
      scopes: ['api:read'],
      credits: { remaining: 5, refill: null },
    });
    const secret = key.clientSecret!;
    const id = key.client.client_id;
    // 5 → 4 → 3: not below 3. → 2: below, announced. → 1 → 0: already announced. Then none left.
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(await verify(i % 2 ? two : one, secret));
    expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'VALID', 'VALID', 'USAGE_EXCEEDED']);
    await settle();
    expect(await deliveriesOf(endpointId)).toHaveLength(1);
    await receiver.until(() => ofType('credits.low', id).length >= 1);
    const [first] = ofType('credits.low', id);
    expect(first!.body.data).toEqual({
      team_id: teamId,
      client_id: id,
      name: 'metered',
      environment: 'prod',
      remaining: 2,
      threshold: 3,
    });
    expect(first!.raw).not.toContain(secret);
    const row = (await one.keyport.db('o_auth_clients').where({ client_id: id }).first()) as Row;
    expect(row.credits_low_at).not.toBeNull();

    // The operator gives the key credits again: a new crossing is announced once more.
    expect((await api('PATCH', `/api/teams/${teamId}/clients/${id}`, { credits: { remaining: 4 } })).status).toBe(200);
    expect(
      ((await one.keyport.db('o_auth_clients').where({ client_id: id }).first()) as Row).credits_low_at,
    ).toBeNull();
    for (let i = 0; i < 3; i++) expect(await verify(i % 2 ? two : one, secret)).toBe('VALID');
    await settle();
    expect(await deliveriesOf(endpointId)).toHaveLength(2);
    await receiver.until(() => ofType('credits.low', id).length >= 2);
    expect(ofType('credits.low', id)[1]!.body.data).toMatchObject({ remaining: 2, threshold: 3 });
  });

  it('a daily refill gives the credits anew: the next fall below the threshold is announced again', async () => {
    const { teamId, endpointId } = await teamHearing(['credits.low'], 'roomy');
    const key = await one.keyport.clientService.createServiceAccount({
      teamId,
      name: 'daily',
      scopes: ['api:read'],
      credits: { remaining: 3, refill: { interval: 'day', amount: 3 } },
    });
    const secret = key.clientSecret!;
    const id = key.client.client_id;
    expect(await verify(one, secret)).toBe('VALID'); // 3 → 2: announced
    expect(await verify(two, secret)).toBe('VALID'); // 2 → 1: not again
    await settle();
    expect(await deliveriesOf(endpointId)).toHaveLength(1);
    // As if the day had turned (the webhook's timestamp stays near the receiver's clock): the row's period is yesterday's.
    const yesterday = Math.floor(clock.now() / 86_400_000) * 86_400 - 86_400;
    await one.keyport
      .db('o_auth_clients')
      .where({ client_id: id })
      .update({
        credits_period: yesterday,
        credits_low_at: (yesterday + 3600) * 1000,
      });
    expect(await verify(one, secret)).toBe('VALID'); // refilled to 3, → 2: announced again
    expect(await verify(two, secret)).toBe('VALID'); // 2 → 1: not again
    await settle();
    expect(await deliveriesOf(endpointId)).toHaveLength(2);
    await receiver.until(() => ofType('credits.low', id).length >= 2);
    expect(ofType('credits.low', id).map((r) => r.body.data.remaining)).toEqual([2, 2]);
  });
});
