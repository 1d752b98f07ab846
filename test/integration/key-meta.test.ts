import { createServer, request as httpRequest, type Server } from 'node:http';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');

/** Waits for a condition the system reaches on its own (a pushed change arriving). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** Issue 28 item 3: a key's `meta`, set by the admin API, returned by every read, verify, introspection and the guard. */
describe.each(DATABASES)('metadata on keys, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };
  let guard: KeyportGuard;
  let app: Server;
  let appUrl: string;
  let proxy: Server;
  /** The guard's round trips to /keys/verify: a call that adds none was answered from a lease. */
  let verifications = 0;
  const heard: string[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
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
  };
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  const introspect = async (token: string) =>
    (await postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) })).body;
  const storedMeta = async (clientId: string) =>
    (await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first('meta')).meta;
  const callApp = async (key: string) => {
    const res = await fetch(`${appUrl}/whoami`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(
      created.url,
      {
        admin_token: OPERATOR,
        log_level: 'info',
        plans: { pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] } },
      },
      { captureLog: true },
    );
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
      onChange: (id: string) => heard.push(id),
    });
    const koa = new Koa();
    koa.use(guard.koa());
    koa.use((ctx) => {
      ctx.body = { meta: ctx.state.keyport.meta === undefined ? 'absent' : ctx.state.keyport.meta };
    });
    app = createServer(koa.callback());
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    guard?.close();
    app?.closeAllConnections();
    app?.close();
    proxy?.closeAllConnections();
    proxy?.close();
    await server?.close();
    await drop?.();
  });

  it('create with meta: get and list show it, /keys/verify (VALID), introspection and the guard return it', async () => {
    const meta = { customer_id: 'cus_42', tier: 'gold', limits: { seats: 5, regions: ['eu', 'us'] } };
    const created = await api('POST', `/teams/${teamId}/clients`, { name: 'ci', scopes: ['api:read'], meta });
    expect(created.status).toBe(201);
    expect(created.body.meta).toEqual(meta);
    const { client_id: id, client_secret: secret } = created.body;

    expect((await api('GET', `/teams/${teamId}/clients/${id}`)).body.meta).toEqual(meta);
    const list = await api('GET', `/teams/${teamId}/clients?limit=100`);
    expect(list.body.data.find((c: { client_id: string }) => c.client_id === id).meta).toEqual(meta);

    const verified = await verify(secret);
    expect(verified).toMatchObject({ valid: true, code: 'VALID', meta });
    expect(await introspect(secret)).toMatchObject({ active: true, token_type: 'api_key', meta });

    const seen = await callApp(secret);
    expect(seen).toEqual({ status: 200, body: { meta } });
  });

  it('a key without meta answers meta: null everywhere', async () => {
    const created = await api('POST', `/teams/${teamId}/clients`, { name: 'plain', scopes: ['api:read'] });
    expect(created.body.meta).toBeNull();
    expect((await verify(created.body.client_secret)).meta).toBeNull();
    expect((await callApp(created.body.client_secret)).body).toEqual({ meta: null });
  });

  it('a JWT service account and an app carry meta too', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const jwt = await api('POST', `/teams/${teamId}/clients`, {
      kind: 'service_account_jwt',
      public_key: pem,
      meta: { customer_id: 'cus_jwt' },
    });
    expect(jwt.status).toBe(201);
    expect(jwt.body.meta).toEqual({ customer_id: 'cus_jwt' });
    const app = await api('POST', `/teams/${teamId}/clients`, { kind: 'app', name: 'third', meta: { partner: 7 } });
    expect(app.status).toBe(201);
    expect((await api('GET', `/teams/${teamId}/clients/${app.body.client_id}`)).body.meta).toEqual({ partner: 7 });
  });

  it('PATCH changes meta and the guard sees the new value after the pushed change, even on a leased key; null clears', async () => {
    const created = await api('POST', `/teams/${teamId}/clients`, { scopes: ['api:read'], meta: { v: 1 } });
    const { client_id: id, client_secret: secret } = created.body;
    // Enough calls that the guard holds a lease for the key and answers from it.
    for (let i = 0; i < 20; i++) expect((await callApp(secret)).body).toEqual({ meta: { v: 1 } });
    await until(() => guard.live, 'the event stream beats');
    let leased = 0;
    for (let i = 0; i < 20; i++) {
      const before = verifications;
      expect((await callApp(secret)).body).toEqual({ meta: { v: 1 } });
      if (verifications === before) leased += 1;
    }
    expect(leased).toBeGreaterThan(0);

    const changed = await api('PATCH', `/teams/${teamId}/clients/${id}`, { meta: { v: 2, customer_id: 'cus_7' } });
    expect(changed.status).toBe(200);
    expect(changed.body.meta).toEqual({ v: 2, customer_id: 'cus_7' });
    await until(() => heard.includes(id), 'the guard hears the change');
    // The next calls, the first verified anew and then leased ones, all see the new value.
    for (let i = 0; i < 10; i++) expect((await callApp(secret)).body).toEqual({ meta: { v: 2, customer_id: 'cus_7' } });
    expect((await verify(secret)).meta).toEqual({ v: 2, customer_id: 'cus_7' });

    heard.length = 0;
    const cleared = await api('PATCH', `/teams/${teamId}/clients/${id}`, { meta: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.meta).toBeNull();
    expect(await storedMeta(id)).toBeNull();
    await until(() => heard.includes(id), 'the guard hears the clearing');
    expect((await callApp(secret)).body).toEqual({ meta: null });
    expect((await introspect(secret)).meta).toBeUndefined();
  });

  const BAD: ReadonlyArray<[string, unknown]> = [
    ['an array', [1, 2]],
    ['a string', 'cus_42'],
    ['a number', 42],
    ['too deep (4 levels)', { a: { b: { c: { d: 1 } } } }],
    ['too big (over 1 KB)', { blob: 'x'.repeat(1100) }],
  ];

  it.each(BAD)(
    'meta that is %s: 400 invalid_request naming meta, at create and PATCH, nothing stored',
    async (_, bad) => {
      const before = Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n);
      const refused = await api('POST', `/teams/${teamId}/clients`, { scopes: ['api:read'], meta: bad });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_request');
      expect(JSON.stringify(refused.body)).toContain('meta');
      expect(Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n)).toBe(before);

      const created = await api('POST', `/teams/${teamId}/clients`, { scopes: ['api:read'], meta: { keep: true } });
      const id = created.body.client_id;
      const patched = await api('PATCH', `/teams/${teamId}/clients/${id}`, { meta: bad, name: 'renamed' });
      expect(patched.status).toBe(400);
      expect(patched.body.error).toBe('invalid_request');
      expect(JSON.stringify(patched.body)).toContain('meta');
      const after = await api('GET', `/teams/${teamId}/clients/${id}`);
      expect(after.body.meta).toEqual({ keep: true });
      expect(after.body.name).not.toBe('renamed');
    },
  );

  it('meta of exactly three levels is accepted', async () => {
    const created = await api('POST', `/teams/${teamId}/clients`, { meta: { a: { b: { c: 1 } } } });
    expect(created.status).toBe(201);
    expect(created.body.meta).toEqual({ a: { b: { c: 1 } } });
  });

  it('the metadata is never in the log (created, verified, introspected, changed above)', async () => {
    const log = JSON.stringify(server.logLines());
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain('cus_42');
    expect(log).not.toContain('cus_7');
    expect(log).not.toContain('"meta"');
  });

  it('the openapi document describes meta on create, patch and the key answer', async () => {
    const doc = await (await fetch(`${server.url}/api/openapi.json`)).json();
    expect(JSON.stringify(doc)).toMatch(/"meta"/);
  });
});
