import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';
import { ADMIN_ROUTES } from '../../src/admin/routes.js';
import { KEYS_ROUTES } from '../../src/keys-api/routes.js';
import { LEAK_ROUTES } from '../../src/keys-api/leak-routes.js';
import type { RouteDeclaration } from '../../src/web/route.js';
import { openApiPath } from '../../src/web/route-openapi.js';

const OPERATOR = randomBytes(24).toString('hex');

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/**
 * Real answers of a running keyport checked against the document it serves:
 * each answer's status must be documented for its route, and its body must
 * parse with the documented JSON Schema (read back into zod: objects there
 * say `additionalProperties: false`, so an undeclared field fails) and with
 * the declared zod schema, unchanged.
 */
describe.each(DATABASES)('the generated OpenAPI document on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let doc: Document;
  let team: number;
  let rs: { id: string; secret: string };
  const seen = new Set<string>();

  function conforms(route: RouteDeclaration, status: number, body: unknown) {
    const operation = doc.paths[openApiPath(route.path)]?.[route.method];
    expect(operation, `${route.method} ${route.path} is documented`).toBeDefined();
    const answer = operation!.responses[String(status)];
    expect(answer, `${route.method} ${route.path} documents ${status}`).toBeDefined();
    seen.add(`${route.method} ${route.path}`);
    const schema = answer!.content?.['application/json']?.schema;
    if (body === undefined) {
      expect(schema, `${route.method} ${route.path} ${status} has no body`).toBeUndefined();
      return;
    }
    expect(schema, `${route.method} ${route.path} ${status} documents its body`).toBeDefined();
    const documented = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(body);
    expect(documented.error?.issues ?? [], `${route.method} ${route.path} ${status} matches the document`).toEqual([]);
    if (status === route.status && route.response) expect(route.response.parse(body)).toEqual(body);
  }

  const call = async (
    route: RouteDeclaration,
    path: string,
    { body, token = OPERATOR, headers = {} }: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(`${server.url}${path}`, {
      method: route.method.toUpperCase(),
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    conforms(route, res.status, parsed);
    return { status: res.status, body: parsed as Record<string, unknown> };
  };
  const A = ADMIN_ROUTES;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 50 } },
    });
    team = (await server.keyport.teamService.createTeam({ name: 'Docs', plan: 'pro' })).id;
    const resourceServer = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: resourceServer.client.client_id, secret: resourceServer.clientSecret! };
    doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as Document;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('is OpenAPI 3.1 and lists exactly the routes the admin router serves, and the /keys routes', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = server.keyport.adminRouter.stack
      .flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
      )
      .concat(
        [...Object.values(KEYS_ROUTES), ...Object.values(LEAK_ROUTES)].map(
          (r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`,
        ),
      )
      .sort();
    expect(served).toEqual(documented);
    // Each /keys route (and GitHub's) is really there: without credentials it refuses (401), it does not 404.
    for (const route of [...Object.values(KEYS_ROUTES), ...Object.values(LEAK_ROUTES)]) {
      const res = await fetch(`${server.url}${route.path}`, { method: route.method.toUpperCase() });
      expect(res.status, route.path).toBe(401);
      conforms(route, 401, await res.json());
    }
  });

  it('documents the fields the admin API really takes: credits, share, public_key_kids', () => {
    const create = doc.paths['/api/teams/{team}/clients']!.post as unknown as Record<string, unknown>;
    const text = JSON.stringify(create);
    for (const field of ['credits', 'share', 'share_url', 'public_key_kids', 'refill', 'revoke_if_unopened'])
      expect(text).toContain(`"${field}"`);
    expect(JSON.stringify(doc.paths['/api/teams/{team}/clients/{client_id}']!.patch)).toContain('"credits"');
  });

  it('every answer of every admin and /keys route matches the document, for each kind of client', async () => {
    const base = `/api/teams/${team}/clients`;
    const service = await call(A.createClient, base, {
      body: {
        kind: 'service_account',
        name: 'ci',
        expires_in_days: 30,
        scopes: ['api:read'],
        credits: { remaining: 100, refill: { interval: 'day', amount: 100 } },
      },
    });
    expect(service.status).toBe(201);
    expect(service.body).toMatchObject({ client_secret: expect.any(String), credits: { remaining: 100 } });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwt = await call(A.createClient, base, {
      body: { kind: 'service_account_jwt', name: 'signer', public_key: publicKey.export({ format: 'jwk' }) },
    });
    expect(jwt.status).toBe(201);
    expect(jwt.body.public_key_kids).toHaveLength(1);
    const app = await call(A.createClient, base, {
      body: { kind: 'app', name: 'CLI app', redirect_uris: ['http://127.0.0.1:8080/cb'] },
    });
    expect(app.status).toBe(201);
    const shared = await call(A.createClient, base, { body: { kind: 'service_account', share: { ttl_seconds: 600 } } });
    expect(shared.body).toMatchObject({ share_url: expect.any(String), share: { state: 'pending' } });
    expect(shared.body.client_secret).toBeUndefined();

    const list = await call(A.listClients, `${base}?limit=10`);
    expect(list.body.total_count).toBe(4);
    const sa = service.body.client_id as string;
    expect((await call(A.getClient, `${base}/${sa}`)).body.credits).toMatchObject({ remaining: 100 });
    expect((await call(A.getClient, `${base}/${shared.body.client_id as string}`)).body.share).toBeDefined();
    expect((await call(A.getClient, `${base}/${app.body.client_id as string}`)).body.redirect_uris).toBeDefined();
    const patched = await call(A.updateClient, `${base}/${sa}`, { body: { name: 'ci-2', credits: { remaining: 5 } } });
    expect(patched.body).toMatchObject({ name: 'ci-2', credits: { remaining: 5, refill: null } });
    // ALM Octane's shapes: create in its {"data": [...]} form, PUT to regenerate (a chosen secret) and revoke.
    const octane = await call(A.createClient, base, {
      body: { data: [{ name: 'octane', client_secret: 'Octane-Key-12!' }] },
    });
    expect(octane.body).toMatchObject({ total_count: 1, data: [{ type: 'api_access' }] });
    const octaneId = (octane.body.data as Array<{ id: string }>)[0]!.id;
    const replaced = await call(A.replaceClient, `${base}/${octaneId}`, {
      body: { is_valid: true, client_secret: 'Octane-Key-34!' },
    });
    expect(replaced.body).toMatchObject({ id: octaneId, is_valid: true, client_secret_note: expect.any(String) });
    expect((await call(A.replaceClient, `${base}/${octaneId}`, { body: { is_valid: false } })).body.is_valid).toBe(
      false,
    );
    const rotated = await call(A.regenerateSecret, `${base}/${sa}/secret`, { body: { grace_period_seconds: 60 } });
    expect(rotated.status).toBe(200);

    const verified = await call(KEYS_ROUTES.verify, '/keys/verify', {
      body: { key: rotated.body.client_secret, scopes: ['api:read'] },
      headers: { authorization: basic(rs.id, rs.secret) },
    });
    expect(verified.body).toMatchObject({ valid: true, code: 'VALID', credits: { remaining: 4 } });
    const unknown = await call(KEYS_ROUTES.verify, '/keys/verify', {
      body: { key: 'nope_sk_prod_1234' },
      headers: { authorization: basic(rs.id, rs.secret) },
    });
    expect(unknown.body).toEqual({ valid: false, code: 'NOT_FOUND' });
    const badVerify = await call(KEYS_ROUTES.verify, '/keys/verify', {
      body: { key: 'k', cost: -1 },
      headers: { authorization: basic(rs.id, rs.secret) },
    });
    expect(badVerify.status).toBe(400);
    const leaked = await call(LEAK_ROUTES.operator, '/keys/leaked', { body: [{ token: 'nope_sk_prod_1234' }] });
    expect(leaked.body).toEqual([
      { token_hash: expect.any(String), token_type: 'keyport_api_key', label: 'false_positive' },
    ]);
    expect((await call(LEAK_ROUTES.operator, '/keys/leaked', { body: [] })).status).toBe(400);

    const jwtId = jwt.body.client_id as string;
    const second = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    const added = await call(A.addPublicKey, `${base}/${jwtId}/keys`, { body: { public_key: second, kid: 'next' } });
    expect(added.body).toEqual({ kid: 'next' });
    expect((await call(A.removePublicKey, `${base}/${jwtId}/keys/next`)).status).toBe(204);

    const usage = await call(A.usage, `${base}/${sa}/usage?granularity=day`);
    expect(usage.status).toBe(200);
    expect(usage.body.addresses).toBeDefined();
    expect((await call(A.revokeClient, `${base}/${app.body.client_id as string}`)).status).toBe(204);
    const events = await call(A.events, `/api/teams/${team}/events?limit=50`);
    expect((events.body.data as unknown[]).length).toBeGreaterThan(5);

    // Refusals are documented too, with their one body.
    expect((await call(A.updateClient, `${base}/${sa}`, { body: { name: '' } })).status).toBe(400);
    expect((await call(A.getClient, `${base}/nope`)).status).toBe(404);
    expect((await call(A.listClients, base, { token: 'wrong' })).status).toBe(401);

    const declared = [...Object.values(ADMIN_ROUTES), ...Object.values(KEYS_ROUTES), ...Object.values(LEAK_ROUTES)]
      // The two event streams are not JSON; their tests are keys-events and audit-stream.
      .filter((r) => r !== ADMIN_ROUTES.openApi && r !== KEYS_ROUTES.events && r !== ADMIN_ROUTES.eventStream)
      .map((r) => `${r.method} ${r.path}`);
    expect([...seen].sort()).toEqual(expect.arrayContaining(declared.sort()));
  });
});
