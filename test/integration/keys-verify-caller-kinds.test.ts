import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const settings = {
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    starter: { api_access: false, max_keys: 10 },
  },
};

/**
 * Who may ask about a key, beside keys-verify-callers.test.ts and
 * api-key-introspection.test.ts: `/keys/verify` answers resource servers
 * only, however they send their credentials; RFC 7662 introspection of a
 * raw key runs the pipeline's checks and spends nothing.
 */
describe.each(DATABASES)('who may ask about a key at /keys/verify and introspection, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;

  const verifyAs = async (auth: string, body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const introspectAs = (id: string, secret: string, token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(id, secret) });
  const newResourceServer = async () => {
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    return { id: r.client.client_id, secret: r.clientSecret! };
  };
  const newKey = async (team = teamId, input: Record<string, unknown> = {}) => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: team,
      scopes: ['api:read'],
      ...input,
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const row = (id: string) => server.keyport.db('o_auth_clients').where({ client_id: id });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  describe('/keys/verify authenticates its caller as a resource server', () => {
    it('RFC 6749 §5.2: a revoked resource server answers 401 invalid_client, Basic or in the body', async () => {
      const rs = await newResourceServer();
      const key = await newKey();
      expect((await verifyAs(basic(rs.id, rs.secret), { key: key.secret })).body.code).toBe('VALID');
      await server.keyport.clientService.revoke(rs.id);
      const refused = await verifyAs(basic(rs.id, rs.secret), { key: key.secret });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'invalid_client' });
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic/);
      const inBody = await fetch(`${server.url}/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: rs.id, client_secret: rs.secret, key: key.secret }),
      });
      expect(inBody.status).toBe(401);
      expect(await inBody.json()).toMatchObject({ error: 'invalid_client' });
    });

    it('a service account or an app is no resource server: 401 invalid_client, with its own valid secret', async () => {
      const key = await newKey();
      const other = await newKey();
      expect(await verifyAs(basic(other.id, other.secret), { key: key.secret })).toMatchObject({
        status: 401,
        body: { error: 'invalid_client' },
      });
      const app = await server.keyport.clientService.createApp({
        teamId,
        name: 'web',
        redirectUris: ['https://a.example/cb'],
      });
      expect((await verifyAs(basic(app.client.client_id, app.clientSecret!), { key: key.secret })).status).toBe(401);
    });
  });

  describe('RFC 7662 introspection of a raw API key', () => {
    it("another team's service account, or an app, is told {active:false} about a key it may not see", async () => {
      const key = await newKey();
      const otherTeam = (await server.keyport.teamService.createTeam({ name: 'Other', plan: 'pro' })).id;
      const stranger = await newKey(otherTeam);
      expect(await introspectAs(stranger.id, stranger.secret, key.secret)).toMatchObject({
        status: 200,
        body: { active: false },
      });
      const sameTeam = await newKey();
      expect((await introspectAs(sameTeam.id, sameTeam.secret, key.secret)).body).toEqual({ active: false });
      const app = await server.keyport.clientService.createApp({
        teamId,
        name: 'web',
        redirectUris: ['https://a.example/cb'],
      });
      expect((await introspectAs(app.client.client_id, app.clientSecret!, key.secret)).body).toEqual({ active: false });
    });

    it('a revoked, expired or plan-less key is inactive, and an introspection spends nothing of its budget or credits', async () => {
      const rs = await newResourceServer();
      const revoked = await newKey();
      await server.keyport.clientService.revoke(revoked.id);
      const expired = await newKey(teamId, { expiresInDays: 1 });
      await row(expired.id).update({ expires_at: 1 });
      const lapsedTeam = (await server.keyport.teamService.createTeam({ name: 'Lapsed', plan: 'pro' })).id;
      const lapsed = await newKey(lapsedTeam);
      await server.keyport.db('teams').where({ id: lapsedTeam }).update({ plan: 'starter' });
      for (const key of [revoked, expired, lapsed])
        expect((await introspectAs(rs.id, rs.secret, key.secret)).body).toEqual({ active: false });

      const credited = await newKey(teamId, { credits: { remaining: 5, refill: null } });
      for (let i = 0; i < 3; i++)
        expect((await introspectAs(rs.id, rs.secret, credited.secret)).body.active).toBe(true);
      expect(await verifyAs(basic(rs.id, rs.secret), { key: credited.secret })).toMatchObject({
        body: { code: 'VALID', credits: { remaining: 4 }, ratelimit: { remaining: 999 } },
      });
    });
  });
});
