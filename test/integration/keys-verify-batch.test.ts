import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * `POST /keys/verify/batch` (docs/contract.md): up to 50 verifications in one
 * round trip, each answered as `POST /keys/verify` answers it, in order. A
 * guard sends its lease renewals this way: one request for many busy keys,
 * where each was a request of its own (issue 27, (f) and (g)).
 */
describe.each(DATABASES)('POST /keys/verify/batch on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };
  // The minute window never rolls over between a test's calls.
  const clock = manualClock();

  const post = (path: string, body: unknown, credentials = rs) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: basic(credentials.id, credentials.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const newKey = async (scopes = ['api:read']) =>
    (await server.keyport.clientService.createServiceAccount({ teamId, scopes })).clientSecret!;
  const newResourceServer = async (name: string) => {
    const created = await server.keyport.clientService.createResourceServer({ name });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** The key's budget left this minute, as a verification that spends nothing answers it. */
  const remaining = async (key: string) =>
    ((await (await post('/keys/verify', { key, cost: 0 })).json()) as { ratelimit: { remaining: number } }).ratelimit
      .remaining;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(
      created.url,
      {
        plans: { pro: { api_access: true, max_keys: 50, rate_limits: [1000, 10_000, 100_000] } },
        resource_server_rate_limits: [100, 10_000, 100_000],
      },
      { clock },
    );
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    rs = await newResourceServer('api');
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('answers each item as /keys/verify does, in order, and spends as it does', async () => {
    const [valid, revoked, narrow] = [await newKey(), await newKey(), await newKey(['api:write'])];
    const revokedId = ((await (await post('/keys/verify', { key: revoked })).json()) as { client_id: string })
      .client_id;
    await server.keyport.clientService.revoke(revokedId);
    const res = await post('/keys/verify/batch', {
      items: [
        { key: valid },
        { key: revoked },
        { key: 'acme_sk_prod_thisisnokeyofkeyportatall12' },
        { key: narrow, scopes: ['api:read'] },
        { key: valid, cost: 2 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { items } = (await res.json()) as { items: Array<Record<string, unknown>> };
    expect(items.map((item) => item.code)).toEqual(['VALID', 'REVOKED', 'NOT_FOUND', 'INSUFFICIENT_SCOPE', 'VALID']);
    expect(items[0]).toMatchObject({ valid: true, team_id: teamId, scopes: ['api:read'] });
    expect(items[2]).toEqual({ valid: false, code: 'NOT_FOUND' });
    // 1 + 2 calls of the valid key were spent, as three single verifications would have.
    const spent = [items[0]!, items[4]!].map((item) => (item.ratelimit as { remaining: number }).remaining);
    expect(spent.sort()).toEqual([997, 999]);
    expect(await remaining(valid)).toBe(997);
  });

  it("a lease renewal in a batch gets its lease, spent of the key's budget; its leased calls count", async () => {
    const key = await newKey();
    const [answer] = (
      (await (await post('/keys/verify/batch', { items: [{ key, cost: 0, lease: 10, leased_calls: 4 }] })).json()) as {
        items: Array<{ code: string; lease?: { calls: number; ttl_ms: number } }>;
      }
    ).items;
    expect(answer).toMatchObject({ code: 'VALID', lease: { calls: 10 } });
    expect(answer!.lease!.ttl_ms).toBeGreaterThan(0);
    expect(answer!.lease!.ttl_ms).toBeLessThanOrEqual(5000);
    expect(await remaining(key)).toBe(990);
  });

  it('bad input is 400 invalid_request and spends nothing: no items, more than 50, a bad item, no JSON', async () => {
    const key = await newKey();
    const refused = [
      {},
      { items: [] },
      { items: Array.from({ length: 51 }, () => ({ key })) },
      { items: [{ key }, { key, cost: -1 }] },
      { items: [{ key, surprise: true }] },
      { items: [{ key }], extra: 1 },
    ];
    for (const body of refused) {
      const res = await post('/keys/verify/batch', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    }
    const form = await fetch(`${server.url}/keys/verify/batch`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: `items=${encodeURIComponent(key)}`,
    });
    expect(form.status).toBe(400);
    expect(await remaining(key)).toBe(1000);
  });

  it('only a resource server may ask: no credentials or a service account get 401', async () => {
    const key = await newKey();
    const anonymous = await fetch(`${server.url}/keys/verify/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ key }] }),
    });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toBe('invalid_client');
    const account = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    const asAccount = await post(
      '/keys/verify/batch',
      { items: [{ key }] },
      {
        id: account.client.client_id,
        secret: account.clientSecret!,
      },
    );
    expect(asAccount.status).toBe(401);
    expect(await remaining(key)).toBe(1000);
  });

  it("a batch refused for the resource server's own limit spends none of it: nothing was verified", async () => {
    const own = await newResourceServer('limited api');
    const key = await newKey();
    const items = (n: number) => ({ items: Array.from({ length: n }, () => ({ key })) });
    expect((await post('/keys/verify/batch', items(50), own)).status).toBe(200);
    expect((await post('/keys/verify/batch', items(40), own)).status).toBe(200);
    // 10 left of 100 a minute: a batch of 50 is refused, and the 10 are still there.
    expect((await post('/keys/verify/batch', items(50), own)).status).toBe(429);
    expect((await post('/keys/verify/batch', items(10), own)).status).toBe(200);
    expect(await remaining(key)).toBe(1000 - 100);
  });

  it('odd bodies are 4xx, never 5xx; the same key 50 times spends 50 calls; credits let exactly their number through', async () => {
    const key = await newKey();
    const raw = (body: string, type = 'application/json') =>
      fetch(`${server.url}/keys/verify/batch`, {
        method: 'POST',
        headers: { authorization: basic(rs.id, rs.secret), 'content-type': type },
        body,
      });
    const bodies: Array<[string, string?]> = [
      ['[]'],
      ['null'],
      ['{"items":null}'],
      ['{"items":[null]}'],
      ['{"items":[{"key":null}]}'],
      [`{"items":[{"key":"${key}","__proto__":{"x":1}}]}`],
      [`{"items":[{"key":"${key}","ip":":::::"}]}`],
      [`{"items":[{"key":"${key}"}]}`, 'text/plain'],
      ['{"items":[{"key":"a.b.c"}]}'],
    ];
    for (const [body, type] of bodies) expect((await raw(body, type)).status, body).toBeLessThan(500);
    const own = await newResourceServer('duplicates api');
    const twice = await newKey();
    const same = await post('/keys/verify/batch', { items: Array.from({ length: 50 }, () => ({ key: twice })) }, own);
    expect(((await same.json()) as { items: Array<{ code: string }> }).items.every((i) => i.code === 'VALID')).toBe(
      true,
    );
    expect(await remaining(twice)).toBe(950);
    const metered = (
      await server.keyport.clientService.createServiceAccount({
        teamId,
        scopes: ['api:read'],
        credits: { remaining: 10, refill: null },
      })
    ).clientSecret!;
    const spent = await post(
      '/keys/verify/batch',
      { items: Array.from({ length: 50 }, () => ({ key: metered })) },
      own,
    );
    const codes = ((await spent.json()) as { items: Array<{ code: string }> }).items.map((i) => i.code);
    expect(codes.filter((c) => c === 'VALID')).toHaveLength(10);
    expect(codes.filter((c) => c === 'USAGE_EXCEEDED')).toHaveLength(40);
  });

  it("each item counts against the resource server's own limit, as a verification does", async () => {
    // The other tests' resource server spent some of its 100 a minute; this one starts fresh.
    const own = await newResourceServer('batching api');
    const key = await newKey();
    const items = (n: number) => ({ items: Array.from({ length: n }, () => ({ key })) });
    expect((await post('/keys/verify/batch', items(50), own)).status).toBe(200);
    expect((await post('/keys/verify/batch', items(50), own)).status).toBe(200);
    const over = await post('/keys/verify/batch', items(1), own);
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).not.toBeNull();
    expect(((await over.json()) as { error: string }).error).toBe('rate_limit_exceeded');
    expect((await post('/keys/verify', { key }, own)).status).toBe(429);
  });
});
