import { createServer, request as httpRequest, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { ROLE_ROUTES } from '../../src/admin/role-routes.js';
import { KEYS_ROUTES } from '../../src/keys-api/routes.js';

const OPERATOR = randomBytes(24).toString('hex');

/** Waits for a condition the system reaches on its own (a pushed change arriving); no fixed sleep. */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** Issue 28 item 2: permissions (`resource:action`) and roles, per product (config) and per team (admin API). */
describe.each(DATABASES)('permissions and roles on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;
  let rs: { id: string; secret: string };
  let guard: KeyportGuard;
  let app: Server;
  let appUrl: string;
  let proxy: Server;
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
  const verify = async (key: string, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key, ...extra }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  const callApp = async (path: string, key: string) => {
    const res = await fetch(`${appUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const newKey = async (team: number, body: Record<string, unknown>) => {
    const created = await api('POST', `/teams/${team}/clients`, { scopes: ['api:read'], ...body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { client_id: string; client_secret: string; roles: string[]; permissions: string[] };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] } },
      permissions: {
        'projects:read': 'Read projects',
        'projects:write': 'Change projects',
        'projects:delete': 'Delete projects',
        'test_runs:read': 'Read test runs',
        'test_runs:write': 'Report test runs',
      },
      roles: { qa_lead: { name: 'QA lead', permissions: ['projects:read', 'test_runs:*'] } },
    });
    teamA = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'Globex', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
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
    // Two routes of a real API behind the guard's Express/Connect middleware.
    const runs = guard.express({ permissions: ['test_runs:write'] });
    const projects = guard.express({ permissions: ['projects:read'] });
    app = createServer((req, res) =>
      (req.url === '/test-runs' ? runs : projects)(req as never, res, () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, permissions: (req as any).keyport.permissions }));
      }),
    );
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await guard?.close();
    app?.closeAllConnections();
    app?.close();
    proxy?.closeAllConnections();
    proxy?.close();
    await server?.close();
    await drop?.();
  });

  it('GET /api/teams/:team/roles lists the product roles, the read-only preset among them, in Octane’s page shape', async () => {
    const list = await api('GET', `/teams/${teamA}/roles`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total_count: 2, exceeds_total_count: false });
    expect(list.body.data).toEqual([
      {
        type: 'workspace_role',
        id: 'qa_lead',
        name: 'QA lead',
        permissions: ['projects:read', 'test_runs:*'],
        built_in: true,
      },
      { type: 'workspace_role', id: 'read_only', name: 'Read only', permissions: ['*:read'], built_in: true },
    ]);
  });

  it('a team role, assigned to a key: /keys/verify allows what it grants, refuses the rest INSUFFICIENT_PERMISSIONS, lists effective permissions', async () => {
    const role = await api('POST', `/teams/${teamA}/roles`, { name: 'Reporter', permissions: ['test_runs:write'] });
    expect(role.status).toBe(201);
    expect(role.body).toMatchObject({ type: 'workspace_role', name: 'Reporter', permissions: ['test_runs:write'] });
    expect(role.body.id).toMatch(/^\d+$/);
    const stored = await server.keyport
      .db('team_roles')
      .where({ id: Number(role.body.id) })
      .first();
    expect(stored.team_id).toBe(teamA);

    const key = await newKey(teamA, { roles: [role.body.id], permissions: ['projects:read'] });
    expect(key.roles).toEqual([role.body.id]);
    expect(key.permissions).toEqual(['projects:read']);

    const allowed = await verify(key.client_secret, { permissions: ['test_runs:write'] });
    expect(allowed).toMatchObject({ valid: true, code: 'VALID' });
    expect(allowed.permissions).toEqual(['projects:read', 'test_runs:write']);
    expect((await verify(key.client_secret, { permissions: ['projects:read', 'test_runs:write'] })).code).toBe('VALID');

    const refused = await verify(key.client_secret, { permissions: ['projects:write'] });
    expect(refused).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });

    // The guard: allowed with the permission, 403 insufficient_permissions without it.
    const posted = await callApp('/test-runs', key.client_secret);
    expect(posted).toEqual({ status: 200, body: { ok: true, permissions: ['projects:read', 'test_runs:write'] } });
    const other = await newKey(teamA, { permissions: ['projects:read'] });
    const denied = await callApp('/test-runs', other.client_secret);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: 'insufficient_permissions' });
    expect((await callApp('/projects', other.client_secret)).status).toBe(200);

    // Introspection lists the effective permissions too.
    const introspected = await postForm(
      `${server.url}/token/introspection`,
      { token: key.client_secret },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(introspected.body).toMatchObject({ active: true, permissions: ['projects:read', 'test_runs:write'] });
  });

  it('wildcards: projects:* grants every projects action and nothing else; the product role qa_lead and read_only work', async () => {
    const wild = await newKey(teamA, { permissions: ['projects:*'] });
    expect((await verify(wild.client_secret, { permissions: ['projects:delete'] })).code).toBe('VALID');
    expect((await verify(wild.client_secret, { permissions: ['projects:read'] })).code).toBe('VALID');
    expect((await verify(wild.client_secret, { permissions: ['test_runs:read'] })).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );

    const qa = await newKey(teamA, { roles: ['qa_lead'] });
    expect((await verify(qa.client_secret, { permissions: ['test_runs:write'] })).code).toBe('VALID');
    expect((await verify(qa.client_secret, { permissions: ['projects:write'] })).code).toBe('INSUFFICIENT_PERMISSIONS');

    const reader = await newKey(teamA, { roles: ['read_only'] });
    expect((await verify(reader.client_secret, { permissions: ['projects:read', 'test_runs:read'] })).code).toBe(
      'VALID',
    );
    expect((await verify(reader.client_secret, { permissions: ['test_runs:write'] })).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    // A key with no permission at all is refused any call that names one.
    const bare = await newKey(teamA, {});
    expect(bare.permissions).toEqual([]);
    expect((await verify(bare.client_secret, { permissions: ['projects:read'] })).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await verify(bare.client_secret)).code).toBe('VALID');
  });

  it('ALM Octane’s shape: a key created with workspace_roles gets those roles', async () => {
    const role = await api('POST', `/teams/${teamA}/roles`, { name: 'DevOps Admin', permissions: ['projects:*'] });
    const created = await api('POST', `/teams/${teamA}/clients`, {
      data: [
        {
          name: 'myKey03',
          workspace_roles: {
            data: [
              { type: 'workspace_role', id: role.body.id },
              { type: 'workspace_role', id: 'read_only' },
            ],
          },
        },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.total_count).toBe(1);
    const [key] = created.body.data;
    expect(key.roles).toEqual([role.body.id, 'read_only']);
    const verified = await verify(key.client_secret, { permissions: ['projects:delete', 'test_runs:read'] });
    expect(verified.code).toBe('VALID');
    expect(verified.permissions).toEqual(['*:read', 'projects:*']);
    // An Octane role id that names no role of the team: 400, nothing created.
    const before = Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n);
    const bad = await api('POST', `/teams/${teamA}/clients`, {
      data: [{ name: 'k', workspace_roles: { data: [{ type: 'workspace_role', id: '999999' }] } }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect(Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n)).toBe(before);
  });

  it('removing a permission from a role takes it from every key with the role at once, at a real guard too', async () => {
    const role = await api('POST', `/teams/${teamA}/roles`, {
      name: 'CI',
      permissions: ['test_runs:write', 'projects:read'],
    });
    const one = await newKey(teamA, { roles: [role.body.id] });
    const two = await newKey(teamA, { roles: [role.body.id] });
    const post = (key: string) => callApp('/test-runs', key);
    // Enough calls that the guard holds a lease for the key and answers from it.
    for (let i = 0; i < 20; i++) expect((await post(one.client_secret)).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    let leased = 0;
    for (let i = 0; i < 20; i++) {
      const before = verifications;
      expect((await post(one.client_secret)).status).toBe(200);
      if (verifications === before) leased += 1;
    }
    expect(leased).toBeGreaterThan(0);

    heard.length = 0;
    const edited = await api('PATCH', `/teams/${teamA}/roles/${role.body.id}`, { permissions: ['projects:read'] });
    expect(edited.status).toBe(200);
    expect(edited.body.permissions).toEqual(['projects:read']);
    await until(() => heard.includes(one.client_id) && heard.includes(two.client_id), 'the guard hears both keys');
    const refused = await post(one.client_secret);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'insufficient_permissions' });
    expect((await verify(two.client_secret, { permissions: ['test_runs:write'] })).code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await callApp('/projects', two.client_secret)).status).toBe(200);

    // Deleting the role takes the rest; the keys no longer name it.
    heard.length = 0;
    expect((await api('DELETE', `/teams/${teamA}/roles/${role.body.id}`)).status).toBe(204);
    await until(() => heard.includes(one.client_id), 'the guard hears the deletion');
    expect((await callApp('/projects', one.client_secret)).status).toBe(403);
    expect((await api('GET', `/teams/${teamA}/clients/${two.client_id}`)).body.roles).toEqual([]);
  });

  it('tenants never see or use another team’s roles', async () => {
    const secret = await api('POST', `/teams/${teamA}/roles`, { name: 'A only', permissions: ['projects:*'] });
    const listB = await api('GET', `/teams/${teamB}/roles`);
    expect(listB.body.data.map((r: { id: string }) => r.id)).not.toContain(secret.body.id);
    const assign = await api('POST', `/teams/${teamB}/clients`, { roles: [secret.body.id] });
    expect(assign.status).toBe(400);
    expect(assign.body.error).toBe('invalid_request');
    const keyB = await newKey(teamB, {});
    const patchKey = await api('PATCH', `/teams/${teamB}/clients/${keyB.client_id}`, { roles: [secret.body.id] });
    expect(patchKey.status).toBe(400);
    expect((await api('PATCH', `/teams/${teamB}/roles/${secret.body.id}`, { name: 'mine' })).status).toBe(404);
    expect((await api('DELETE', `/teams/${teamB}/roles/${secret.body.id}`)).status).toBe(404);
    const still = await server.keyport
      .db('team_roles')
      .where({ id: Number(secret.body.id) })
      .first();
    expect(still.name).toBe('A only');
  });

  it('bad permissions and roles: 400 invalid_request naming the field, nothing stored; product roles are not editable', async () => {
    const malformed = await api('POST', `/teams/${teamA}/roles`, { name: 'x', permissions: ['projects'] });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('permissions');
    const unknown = await api('POST', `/teams/${teamA}/roles`, { name: 'x', permissions: ['invoices:read'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain('invoices:read');
    const keyBad = await api('POST', `/teams/${teamA}/clients`, { permissions: ['projects:read:now'] });
    expect(keyBad.status).toBe(400);
    expect(JSON.stringify(keyBad.body)).toContain('permissions');
    const product = await api('PATCH', `/teams/${teamA}/roles/read_only`, { permissions: ['*:*'] });
    expect(product.status).toBe(403);
    expect(product.body.error).toBe('insufficient_permissions');
    const key = await newKey(teamA, { permissions: ['projects:read'] });
    const patched = await api('PATCH', `/teams/${teamA}/clients/${key.client_id}`, { permissions: ['nope'] });
    expect(patched.status).toBe(400);
    expect((await api('GET', `/teams/${teamA}/clients/${key.client_id}`)).body.permissions).toEqual(['projects:read']);
  });

  it('PATCH sets a key’s roles and permissions; the guard feels it after the pushed change', async () => {
    const key = await newKey(teamA, { permissions: ['projects:read'] });
    const post = () => callApp('/test-runs', key.client_secret);
    expect((await post()).status).toBe(403);
    heard.length = 0;
    const patched = await api('PATCH', `/teams/${teamA}/clients/${key.client_id}`, { roles: ['qa_lead'] });
    expect(patched.status).toBe(200);
    expect(patched.body.roles).toEqual(['qa_lead']);
    await until(() => heard.includes(key.client_id), 'the guard hears the change');
    expect((await post()).status).toBe(200);
  });

  it('the OpenAPI document has the role routes, and the answers match their declared schemas', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/teams/{team}/roles']!)).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(doc.paths['/api/teams/{team}/roles/{role}']!)).toEqual(
      expect.arrayContaining(['patch', 'delete']),
    );
    expect(JSON.stringify(doc.paths['/keys/verify'])).toContain('INSUFFICIENT_PERMISSIONS');
    const list = await api('GET', `/teams/${teamA}/roles`);
    expect(ROLE_ROUTES.list.response!.parse(list.body)).toEqual(list.body);
    const key = await newKey(teamA, { roles: ['read_only'] });
    const refused = await verify(key.client_secret, { permissions: ['projects:write'] });
    expect(KEYS_ROUTES.verify.response!.parse(refused)).toEqual(refused);
  });
});
