import { createServer, request as httpRequest, type Server } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { createGatewayHandler } from '../../packages/guard/gateway.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const REFUSED = /^the address .+ is not allowed to use this key$/;

/** Waits for a state the guard reaches on its own (its event stream beating). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** Resolves at the guard's next onChange for `clientId`: the pushed change, waited on, never slept for. */
function changeHeard(listeners: Map<string, () => void>, clientId: string): Promise<void> {
  return new Promise((resolve) => listeners.set(clientId, resolve));
}

async function operatorApi(server: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${OPERATOR}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const PLANS = { pro: { api_access: true, max_keys: 200, rate_limits: [10_000, 100_000, 1_000_000] } };

/**
 * Issue 28 item 1: a key's `allowed_ips`. Behind one trusted proxy
 * (`trusted_proxies: 1`), the caller is the address the proxy appended to
 * X-Forwarded-For, the last one; anything to its left is the caller's own
 * words and is never believed.
 */
describe.each(DATABASES)('address allowlists on keys, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };
  let guard: KeyportGuard;
  let gateway: Server;
  let gatewayUrl: string;
  let proxy: Server;
  /** The guard's round trips to /keys/verify: a call that adds none was answered from a lease. */
  let verifications = 0;
  const listeners = new Map<string, () => void>();

  const api = (method: string, path: string, body?: unknown) => operatorApi(server, method, path, body);
  const create = (body: Record<string, unknown>) => api('POST', `/teams/${teamId}/clients`, body);
  /** POST /token for client credentials, the proxy saying the caller is `from`. */
  const token = (id: string, secret: string, from: string) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(id, secret), 'x-forwarded-for': from },
    );
  const verify = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  const forbiddenCount = async (id: string) => {
    await server.keyport.keyUsage.flush();
    const usage = await api('GET', `/teams/${teamId}/clients/${id}/usage`);
    expect(usage.status).toBe(200);
    return (usage.body.data as Array<{ forbidden_ip: number }>).reduce((n, h) => n + h.forbidden_ip, 0);
  };
  const check = (key: string, ip: string) =>
    guard.check({ rawHeaders: ['authorization', `Bearer ${key}`], url: '/runs', ip }, ['api:read']);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR, trusted_proxies: 1, plans: PLANS });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    // The guard reaches keyport through a forwarding proxy that counts its verifications.
    proxy = createServer((req, res) => {
      if (req.url === '/keys/verify') verifications += 1;
      const upstream = httpRequest(
        `${server.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    guard = keyportGuard({
      issuer: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
      clientId: rs.id,
      clientSecret: rs.secret,
      onChange: (id: string) => {
        listeners.get(id)?.();
        listeners.delete(id);
      },
    });
    gateway = createServer(createGatewayHandler({ guard }));
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(gateway.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await guard?.close();
    gateway?.closeAllConnections();
    gateway?.close();
    proxy?.closeAllConnections();
    proxy?.close();
    await server?.close();
    await drop?.();
  });

  it('create stores the list in canonical form; get, list and PATCH answer allowed_ips; [] means anywhere', async () => {
    const created = await create({
      name: 'ci',
      scopes: ['api:read'],
      allowed_ips: ['203.0.113.7', '198.51.100.0/24', '2001:DB8:0:0::/32', '10.1.2.3/8', '::ffff:192.0.2.1'],
    });
    expect(created.status).toBe(201);
    const expected = ['203.0.113.7', '198.51.100.0/24', '2001:db8::/32', '10.0.0.0/8', '192.0.2.1'];
    expect(created.body.allowed_ips).toEqual(expected);
    const id = created.body.client_id;
    expect((await api('GET', `/teams/${teamId}/clients/${id}`)).body.allowed_ips).toEqual(expected);
    const list = await api('GET', `/teams/${teamId}/clients?limit=100`);
    expect(list.body.data.find((c: { client_id: string }) => c.client_id === id).allowed_ips).toEqual(expected);
    const stored = await server.keyport.db('o_auth_clients').where({ client_id: id }).first('allowed_ips');
    expect(JSON.parse(stored.allowed_ips)).toEqual(expected);

    const plain = await create({ name: 'plain', scopes: ['api:read'] });
    expect(plain.body.allowed_ips).toEqual([]);
    const cleared = await api('PATCH', `/teams/${teamId}/clients/${id}`, { allowed_ips: [] });
    expect(cleared.status).toBe(200);
    expect(cleared.body.allowed_ips).toEqual([]);
    expect((await server.keyport.db('o_auth_clients').where({ client_id: id }).first('allowed_ips')).allowed_ips).toBe(
      null,
    );
  });

  it('/token: IPv4 address and range allowed, another address 403 insufficient_permissions, counted as refused by address', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.7', '198.51.100.0/24'] });
    const { client_id: id, client_secret: secret } = created.body;
    expect((await token(id, secret, '203.0.113.7')).status).toBe(200);
    expect((await token(id, secret, '198.51.100.200')).status).toBe(200);
    const refused = await token(id, secret, '203.0.113.8');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('insufficient_permissions');
    expect(refused.body.error_description).toBe('the address 203.0.113.8 is not allowed to use this key');
    expect(refused.body.access_token).toBeUndefined();
    expect(await forbiddenCount(id)).toBe(1);
  });

  it('/token: IPv6 address and range; an IPv4 range does not let an IPv6 caller in', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['2001:db8:1::/48', '2001:db8:ffff::9'] });
    const { client_id: id, client_secret: secret } = created.body;
    expect((await token(id, secret, '2001:db8:1:2::5')).status).toBe(200);
    expect((await token(id, secret, '2001:DB8:FFFF:0:0:0:0:9')).status).toBe(200);
    const refused = await token(id, secret, '2001:db8:2::1');
    expect(refused.status).toBe(403);
    expect(refused.body.error_description).toMatch(REFUSED);
    expect((await token(id, secret, '203.0.113.1')).status).toBe(403);
  });

  it("the proxy rule: a forged X-Forwarded-For entry left of the proxy's own is ignored", async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.7'] });
    const { client_id: id, client_secret: secret } = created.body;
    // The caller writes the allowed address; the trusted proxy appends the real one.
    const forged = await token(id, secret, '203.0.113.7, 198.51.100.66');
    expect(forged.status).toBe(403);
    expect(forged.body.error_description).toBe('the address 198.51.100.66 is not allowed to use this key');
    expect(await verify({ key: secret }, { 'x-forwarded-for': '203.0.113.7, 198.51.100.66' })).toMatchObject({
      valid: false,
      code: 'FORBIDDEN_IP',
    });
  });

  it('a JWT service account and an app are refused at /token from elsewhere too', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwt = await create({
      kind: 'service_account_jwt',
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      allowed_ips: ['192.0.2.0/28'],
    });
    expect(jwt.status).toBe(201);
    expect(jwt.body.allowed_ips).toEqual(['192.0.2.0/28']);
    const app = await create({ kind: 'app', name: 'partner', allowed_ips: ['192.0.2.1'] });
    expect(app.status).toBe(201);
    // An app's client credentials are refused for the grant; the address is checked first.
    const refused = await token(app.body.client_id, app.body.client_secret, '192.0.2.2');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('insufficient_permissions');
  });

  it('/keys/verify: by its ip field (IPv4, IPv6, ranges), FORBIDDEN_IP with the message, nothing spent, counted', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.0/24', '2001:db8::/32'] });
    const { client_id: id, client_secret: secret } = created.body;
    const ok4 = await verify({ key: secret, ip: '203.0.113.99' });
    expect(ok4).toMatchObject({ valid: true, code: 'VALID', allowed_ips: ['203.0.113.0/24', '2001:db8::/32'] });
    expect((await verify({ key: secret, ip: '2001:db8:abcd::1' })).code).toBe('VALID');
    expect((await verify({ key: secret, ip: '::ffff:203.0.113.5' })).code).toBe('VALID');
    const remaining = ok4.ratelimit.remaining;

    const refused = await verify({ key: secret, ip: '198.51.100.1' });
    expect(refused).toMatchObject({
      valid: false,
      code: 'FORBIDDEN_IP',
      client_id: id,
      ratelimit: null,
      message: 'the address 198.51.100.1 is not allowed to use this key',
    });
    expect(refused.meta).toBeUndefined();
    expect((await verify({ key: secret, ip: '2001:db9::1' })).code).toBe('FORBIDDEN_IP');
    // Nothing was spent by the refusals: the next valid call is the next one of the budget.
    expect((await verify({ key: secret, ip: '203.0.113.1' })).ratelimit.remaining).toBe(remaining - 3);
    expect(await forbiddenCount(id)).toBe(2);
  });

  it("/keys/verify without ip: the resource server's own address, as trusted_proxies yields it", async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['192.0.2.10'] });
    const secret = created.body.client_secret;
    expect((await verify({ key: secret }, { 'x-forwarded-for': '192.0.2.10' })).code).toBe('VALID');
    const refused = await verify({ key: secret }, { 'x-forwarded-for': '192.0.2.11' });
    expect(refused.code).toBe('FORBIDDEN_IP');
    expect(refused.message).toBe('the address 192.0.2.11 is not allowed to use this key');
  });

  it('the guard: 403 insufficient_permissions from elsewhere; its lease of a listed key serves that address only', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.5'] });
    const secret = created.body.client_secret;
    await check(secret, '203.0.113.5');
    await until(() => guard.live, 'the event stream beats');
    // Busy enough that the guard holds leases for the key; each time a call was served from one,
    // a call from another address comes in while the lease still has calls.
    const elsewhere: Array<{ status: number; body?: unknown }> = [];
    for (let i = 0; i < 60 && elsewhere.length < 5; i++) {
      const before = verifications;
      expect((await check(secret, '203.0.113.5')).status).toBe(200);
      if (verifications === before) elsewhere.push(await check(secret, '198.51.100.9'));
    }
    expect(elsewhere.length).toBeGreaterThan(0);
    for (const refused of elsewhere) {
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({
        error: 'insufficient_permissions',
        message: 'the address 198.51.100.9 is not allowed to use this key',
      });
    }
    expect((await check(secret, '203.0.113.5')).status).toBe(200);
  });

  it('a change of the list is pushed: the guard refuses within a second of the PATCH (waited on onChange)', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.5'] });
    const { client_id: id, client_secret: secret } = created.body;
    await check(secret, '203.0.113.5');
    await until(() => guard.live, 'the event stream beats');
    // Until a call is served from a lease: the change must reach a guard that would answer on its own.
    let leased = false;
    for (let i = 0; i < 60 && !leased; i++) {
      const before = verifications;
      expect((await check(secret, '203.0.113.5')).status).toBe(200);
      leased = verifications === before;
    }
    expect(leased).toBe(true);

    const heard = changeHeard(listeners, id);
    const changedAt = Date.now();
    const patched = await api('PATCH', `/teams/${teamId}/clients/${id}`, { allowed_ips: ['198.51.100.0/24'] });
    expect(patched.status).toBe(200);
    await heard;
    const after = await check(secret, '203.0.113.5');
    const felt = Date.now() - changedAt;
    expect(after.status).toBe(403);
    expect(after.body).toEqual({
      error: 'insufficient_permissions',
      message: 'the address 203.0.113.5 is not allowed to use this key',
    });
    expect(felt).toBeLessThan(1000);
    expect((await check(secret, '198.51.100.77')).status).toBe(200);
  });

  it('the gateway check refuses an unlisted caller (X-Real-IP from the proxy) with 403 insufficient_permissions', async () => {
    const created = await create({ scopes: ['api:read'], allowed_ips: ['192.0.2.50'] });
    const secret = created.body.client_secret;
    const call = (ip: string) =>
      fetch(`${gatewayUrl}/check`, { headers: { authorization: `Bearer ${secret}`, 'x-real-ip': ip } });
    expect((await call('192.0.2.50')).status).toBe(200);
    const refused = await call('192.0.2.51');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: 'insufficient_permissions',
      message: 'the address 192.0.2.51 is not allowed to use this key',
    });
  });

  it('the admin API: a keys:manage key from an unlisted address is 403 insufficient_permissions', async () => {
    const created = await create({ scopes: ['api:read', 'keys:manage'], allowed_ips: ['192.0.2.60'] });
    const secret = created.body.client_secret;
    const list = (from: string) =>
      fetch(`${server.url}/api/teams/${teamId}/clients?limit=1`, {
        headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': from },
      });
    expect((await list('192.0.2.60')).status).toBe(200);
    const refused = await list('192.0.2.61');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error: 'insufficient_permissions',
      message: 'the address 192.0.2.61 is not allowed to use this key',
    });
  });

  it('over 50 entries: 400 invalid_request naming allowed_ips; nothing stored', async () => {
    const before = Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n);
    const many = Array.from({ length: 51 }, (_, i) => `192.0.2.${i}`);
    const refused = await create({ scopes: ['api:read'], allowed_ips: many });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    expect(refused.body.message).toMatch(/allowed_ips/);
    expect(Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n)).toBe(before);
    expect((await create({ scopes: ['api:read'], allowed_ips: many.slice(0, 50) })).status).toBe(201);
  });

  it.each([['300.1.2.3'], ['10.0.0.0/33'], ['2001:db8::/129'], ['127.1'], ['example.com'], ['fe80::1%eth0'], ['']])(
    'a bad entry (%j): 400 invalid_request naming it, at create and PATCH; nothing changes',
    async (bad) => {
      const refused = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.1', bad] });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(refused.body.message).toBe(
        `allowed_ips: ${JSON.stringify(bad)} is not an IPv4 or IPv6 address or CIDR range`,
      );
      const created = await create({ scopes: ['api:read'], allowed_ips: ['203.0.113.1'] });
      const id = created.body.client_id;
      const patched = await api('PATCH', `/teams/${teamId}/clients/${id}`, { allowed_ips: [bad], name: 'renamed' });
      expect(patched.status).toBe(400);
      expect(patched.body.message).toContain(JSON.stringify(bad));
      const after = await api('GET', `/teams/${teamId}/clients/${id}`);
      expect(after.body.allowed_ips).toEqual(['203.0.113.1']);
      expect(after.body.name).not.toBe('renamed');
    },
  );

  it('the openapi document describes allowed_ips and FORBIDDEN_IP', async () => {
    const doc = JSON.stringify(await (await fetch(`${server.url}/api/openapi.json`)).json());
    expect(doc).toContain('"allowed_ips"');
    expect(doc).toContain('FORBIDDEN_IP');
  });
});

/** The proxy rule's other half: with no trusted proxy (the default), X-Forwarded-For is no one's word. */
describe.each(DATABASES)('no trusted proxy: a forged X-Forwarded-For is ignored, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR, plans: PLANS });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a key allowed only 203.0.113.7 is refused from the loopback peer claiming to be it', async () => {
    const created = await operatorApi(server, 'POST', `/teams/${teamId}/clients`, {
      scopes: ['api:read'],
      allowed_ips: ['203.0.113.7'],
    });
    const { client_id: id, client_secret: secret } = created.body;
    const forged = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(id, secret), 'x-forwarded-for': '203.0.113.7', 'x-real-ip': '203.0.113.7' },
    );
    expect(forged.status).toBe(403);
    expect(forged.body.error_description).toBe('the address 127.0.0.1 is not allowed to use this key');

    const local = await operatorApi(server, 'POST', `/teams/${teamId}/clients`, {
      scopes: ['api:read'],
      allowed_ips: ['127.0.0.0/8', '::1'],
    });
    const ok = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(local.body.client_id, local.body.client_secret), 'x-forwarded-for': '203.0.113.99' },
    );
    expect(ok.status).toBe(200);
  });
});
