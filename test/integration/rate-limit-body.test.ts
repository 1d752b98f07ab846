import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = 'o'.repeat(40);
/** docs/contract.md, Rate limits: the one 429 body, on every surface. */
const LIMITED = { error: 'rate_limit_exceeded', retry_after: expect.any(Number) };

/** The refusal's headers agree with its body: `Retry-After` is `retry_after` (RFC 9110 §10.2.3). */
function expectOne429(res: { status: number; headers: Headers }, body: Record<string, unknown>) {
  expect(res.status).toBe(429);
  expect(body.retry_after).toBeGreaterThan(0);
  expect(res.headers.get('retry-after')).toBe(String(body.retry_after));
}

describe.each(DATABASES)('one 429 body on every surface, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  // The minute window never rolls over between a test's calls (a fixed window ending mid-test let a 4th call through).
  const clock = manualClock();

  const newKey = async () => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      scopes: ['api:read', 'keys:manage'],
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const token = (key: { id: string; secret: string }, scope = 'api:read') =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope },
      { authorization: basic(key.id, key.secret) },
    );

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(
      created.url,
      {
        admin_token: OPERATOR,
        plans: { pro: { api_access: true, max_keys: 50, rate_limits: [3, 100, 1000] } },
        auth_failures: { per_client: 3, per_address: 50, window_seconds: 300 },
      },
      { clock },
    );
    teamId = (await server.keyport.teamService.createTeam({ name: 'Pro', plan: 'pro' })).id;
  });
  beforeEach(async () => {
    await server.keyport.db('rate_limits').delete();
    await server.keyport.db('plan_counters').delete();
    server.keyport.limits.failures.forget();
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('the token endpoint over its plan budget: the body, Retry-After and X-RateLimit-*', async () => {
    const key = await newKey();
    for (let i = 0; i < 3; i++) expect((await token(key)).status).toBe(200);
    const refused = await token(key);
    expectOne429(refused, refused.body);
    expect(refused.body).toEqual(LIMITED);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('the admin API over its plan budget: the same body with its message, Retry-After and X-RateLimit-*', async () => {
    const key = await newKey();
    const manage = (await token(key, 'keys:manage')).body.access_token as string;
    const list = () =>
      fetch(`${server.url}/api/teams/${teamId}/clients`, { headers: { authorization: `Bearer ${manage}` } });
    for (let i = 0; i < 2; i++) expect((await list()).status).toBe(200);
    const refused = await list();
    const body = (await refused.json()) as Record<string, unknown>;
    expectOne429(refused, body);
    expect(body).toEqual({ ...LIMITED, message: expect.any(String) });
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('/keys/verify for a resource server that failed too often: the same body and Retry-After', async () => {
    const rs = await server.keyport.clientService.createResourceServer({ name: 'api' });
    const verify = (secret: string) =>
      fetch(`${server.url}/keys/verify`, {
        method: 'POST',
        headers: { authorization: basic(rs.client.client_id, secret), 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'some_sk_prod_key' }),
      });
    for (let i = 0; i < 3; i++) expect((await verify('wrong-secret')).status).toBe(401);
    const refused = await verify(rs.clientSecret!);
    const body = (await refused.json()) as Record<string, unknown>;
    expectOne429(refused, body);
    expect(body).toEqual(LIMITED);
  });

  it('/keys/events past its streams per resource server: the same body and Retry-After', async () => {
    const rs = await server.keyport.clientService.createResourceServer({ name: 'guard' });
    const open = (signal?: AbortSignal) =>
      fetch(`${server.url}/keys/events`, {
        headers: { authorization: basic(rs.client.client_id, rs.clientSecret!) },
        signal,
      });
    const streams = new AbortController();
    try {
      const held = await Promise.all(Array.from({ length: 32 }, () => open(streams.signal)));
      expect(held.every((r) => r.status === 200)).toBe(true);
      const refused = await open();
      const body = (await refused.json()) as Record<string, unknown>;
      expectOne429(refused, body);
      expect(body).toEqual(LIMITED);
    } finally {
      streams.abort();
    }
  });
});
