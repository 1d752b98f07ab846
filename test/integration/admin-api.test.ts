import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');

describe.each(DATABASES)('admin API on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;
  let small: number;
  let managerToken: string;
  let rs: { id: string; secret: string };

  const api = async (
    method: string,
    path: string,
    {
      token = OPERATOR,
      body,
      headers = {},
    }: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
  };
  const create = (team: number, body: Record<string, unknown>, token?: string) =>
    api('POST', `/teams/${team}/clients`, { body, token });
  const tokenFor = async (clientId: string, secret: string, scope = 'api:read') =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope },
      { authorization: basic(clientId, secret) },
    );
  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });
  const countClients = async () => Number((await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: {
        pro: { api_access: true, max_keys: 50 },
        tiny: { api_access: true, max_keys: 2 },
        starter: { api_access: false, max_keys: 10 },
      },
    });
    const { teamService, clientService } = server.keyport;
    teamA = (await teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await teamService.createTeam({ name: 'B', plan: 'pro' })).id;
    small = (await teamService.createTeam({ name: 'Small', plan: 'starter' })).id;
    const manager = await clientService.createServiceAccount({
      teamId: teamA,
      name: 'manager',
      scopes: ['keys:manage'],
    });
    managerToken = (await tokenFor(manager.client.client_id, manager.clientSecret!, 'keys:manage')).body
      .access_token as string;
    const resourceServer = await clientService.createResourceServer({ name: 'api' });
    rs = { id: resourceServer.client.client_id, secret: resourceServer.clientSecret! };
  });

  afterAll(async () => {
    await server.close();
    await drop();
  });

  describe('callers', () => {
    it('no token answers 401 invalid_token with WWW-Authenticate: Bearer', async () => {
      const res = await api('GET', `/teams/${teamA}/clients`, { token: null });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it('an unknown token answers 401 invalid_token', async () => {
      expect((await api('GET', `/teams/${teamA}/clients`, { token: 'nope' })).status).toBe(401);
    });

    it('the operator token reaches every team', async () => {
      expect((await api('GET', `/teams/${teamA}/clients`)).status).toBe(200);
      expect((await api('GET', `/teams/${teamB}/clients`)).status).toBe(200);
    });

    it("a team's keys:manage token manages its own team", async () => {
      const res = await create(teamA, { kind: 'service_account', name: 'by-manager' }, managerToken);
      expect(res.status).toBe(201);
    });

    it("team A's token on team B answers 404 not_found, as for a team that does not exist", async () => {
      const other = await api('GET', `/teams/${teamB}/clients`, { token: managerToken });
      const missing = await api('GET', '/teams/999999/clients', { token: managerToken });
      expect(other.status).toBe(404);
      expect(other.body).toEqual(missing.body);
      const bClient = (await create(teamB, { kind: 'service_account' })).body.client_id;
      expect((await api('GET', `/teams/${teamA}/clients/${bClient}`, { token: managerToken })).status).toBe(404);
      expect((await api('DELETE', `/teams/${teamA}/clients/${bClient}`, { token: managerToken })).status).toBe(404);
    });

    it('a token without keys:manage answers 403 insufficient_permissions', async () => {
      const plain = await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'plain' });
      const token = (await tokenFor(plain.client.client_id, plain.clientSecret!)).body.access_token as string;
      const res = await api('GET', `/teams/${teamA}/clients`, { token });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_permissions');
    });

    it('a token acting for a person works only while that person is an admin of the team', async () => {
      const { teamService, clientService, provider, db } = server.keyport;
      const person = await teamService.addPerson({
        teamId: teamA,
        email: `admin-${randomBytes(4).toString('hex')}@a.test`,
        password: 'Correct-Horse-3',
        role: 'admin',
      });
      const app = await clientService.createApp({ teamId: teamA, name: 'console', scopes: ['keys:manage'] });
      // The token an app holds after a person approved it (authorization_code), stored the way oidc-provider stores it.
      const jti = randomBytes(24).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      await provider.AccessToken.adapter.upsert(
        jti,
        {
          jti,
          kind: 'AccessToken',
          iat: now,
          exp: now + 600,
          accountId: String(person.id),
          clientId: app.client.client_id,
          scope: 'keys:manage',
          grantId: 'g-person',
          gty: 'authorization_code',
        },
        600,
      );
      expect((await api('GET', `/teams/${teamA}/clients`, { token: jti })).status).toBe(200);
      await db('team_memberships').where({ team_id: teamA, user_id: person.id }).update({ role: 'member' });
      const demoted = await api('GET', `/teams/${teamA}/clients`, { token: jti });
      expect(demoted.status).toBe(403);
      expect(demoted.body.error).toBe('insufficient_permissions');
    });

    it("a revoked client's token is 401 invalid_token, whatever its scope", async () => {
      const plain = await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'plain-revoked' });
      const token = (await tokenFor(plain.client.client_id, plain.clientSecret!)).body.access_token as string;
      await server.keyport.clientService.revoke(plain.client.client_id);
      const res = await api('GET', `/teams/${teamA}/clients`, { token });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_token');
    });

    it("a revoked manager's token stops working at once", async () => {
      const m = await server.keyport.clientService.createServiceAccount({
        teamId: teamA,
        name: 'm2',
        scopes: ['keys:manage'],
      });
      const token = (await tokenFor(m.client.client_id, m.clientSecret!, 'keys:manage')).body.access_token as string;
      expect((await api('GET', `/teams/${teamA}/clients`, { token })).status).toBe(200);
      await server.keyport.clientService.revoke(m.client.client_id);
      expect((await api('GET', `/teams/${teamA}/clients`, { token })).status).toBe(401);
    });
  });

  describe('keys', () => {
    it('creates a service account: 201, the secret this once with no-store, and it gets tokens', async () => {
      const res = await create(teamA, {
        kind: 'service_account',
        name: 'ci',
        environment: 'dev',
        scopes: ['api:read'],
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({
        kind: 'service_account',
        environment: 'dev',
        scopes: ['api:read'],
        is_valid: true,
        team_id: teamA,
      });
      const token = await tokenFor(res.body.client_id, res.body.client_secret);
      expect(token.status).toBe(200);
      expect((await introspect(token.body.access_token as string)).body).toMatchObject({
        active: true,
        environment: 'dev',
        team_id: teamA,
      });
    });

    it('accepts a user-chosen secret of 10 to 30 characters from three classes', async () => {
      const res = await create(teamA, { kind: 'service_account', client_secret: 'Chosen-secret1' });
      expect(res.status).toBe(201);
      expect((await tokenFor(res.body.client_id, 'Chosen-secret1')).status).toBe(200);
    });

    it.each(['Short1!', 'alllowercaseonly', 'lowercase12345', 'A'.repeat(15) + 'b'.repeat(16) + '1'])(
      'refuses the chosen secret %s, naming the field, writing nothing',
      async (secret) => {
        const before = await countClients();
        const res = await create(teamA, { kind: 'service_account', client_secret: secret });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_request');
        expect(res.body.message).toMatch(/^client_secret/);
        expect(await countClients()).toBe(before);
      },
    );

    it.each(['Pässwort-1234', 'Secret-密码-12', 'Tab\u00a0Secret-12'])(
      'refuses the non-ASCII chosen secret %s: it cannot travel in a Basic header',
      async (secret) => {
        const before = await countClients();
        const res = await create(teamA, { kind: 'service_account', client_secret: secret });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_request');
        expect(res.body.message).toMatch(/^client_secret.*ASCII/);
        expect(await countClients()).toBe(before);
        const created = (await create(teamA, { kind: 'service_account' })).body;
        const rotated = await api('POST', `/teams/${teamA}/clients/${created.client_id}/secret`, {
          body: { client_secret: secret },
        });
        expect(rotated.status).toBe(400);
        expect(rotated.body.message).toMatch(/^client_secret.*ASCII/);
        expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(200);
      },
    );

    it('creates a service_account_jwt from a PEM or a JWK, never with a secret', async () => {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const fromPem = await create(teamA, {
        kind: 'service_account_jwt',
        public_key: publicKey.export({ type: 'spki', format: 'pem' }),
      });
      const fromJwk = await create(teamA, {
        kind: 'service_account_jwt',
        public_key: { keys: [publicKey.export({ format: 'jwk' })] },
      });
      for (const res of [fromPem, fromJwk]) {
        expect(res.status).toBe(201);
        expect(res.body.kind).toBe('service_account_jwt');
        expect(res.body.client_secret).toBeUndefined();
      }
    });

    it.each([
      [
        'a private PEM',
        () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      ],
      [
        'a JWKS with private parts',
        () => ({ keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })] }),
      ],
    ])('refuses %s: 400 naming public_key', async (_name, make) => {
      const res = await create(teamA, { kind: 'service_account_jwt', public_key: make() });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/^public_key: .*private/);
    });

    it('creates an app with its redirect URIs', async () => {
      const res = await create(teamA, { kind: 'app', name: 'Zapier', redirect_uris: ['https://zapier.example/cb'] });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'app', redirect_uris: ['https://zapier.example/cb'] });
    });

    it('lists with paging and never a secret', async () => {
      const page = await api('GET', `/teams/${teamA}/clients?limit=2&offset=0`);
      expect(page.status).toBe(200);
      expect(page.body.data).toHaveLength(2);
      expect(page.body.total_count).toBeGreaterThan(2);
      expect(page.body.exceeds_total_count).toBe(true);
      const all = await api('GET', `/teams/${teamA}/clients?limit=100`);
      expect(all.body.exceeds_total_count).toBe(false);
      expect(all.text).not.toMatch(/client_secret|keyport_sk_|\$2[aby]\$/);
      expect(all.body.data.find((c: { name: string }) => c.name === 'ci').secret_hint).toMatch(
        /^[1-9A-HJ-NP-Za-km-z]{4}$/,
      );
    });

    it('patch renames and rescopes; is_valid:false revokes at once, issued tokens included', async () => {
      const created = (await create(teamA, { kind: 'service_account', scopes: ['api:read'] })).body;
      const token = (await tokenFor(created.client_id, created.client_secret)).body.access_token as string;
      const renamed = await api('PATCH', `/teams/${teamA}/clients/${created.client_id}`, {
        body: { name: 'renamed', scopes: ['api:read', 'api:write'] },
      });
      expect(renamed.body).toMatchObject({ name: 'renamed', scopes: ['api:read', 'api:write'] });
      const revoked = await api('PATCH', `/teams/${teamA}/clients/${created.client_id}`, { body: { is_valid: false } });
      expect(revoked.body.is_valid).toBe(false);
      expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(401);
      expect((await introspect(token)).body).toEqual({ active: false });
    });

    it('regenerates the secret: same client_id, new secret works, old fails (no grace)', async () => {
      const created = (await create(teamA, { kind: 'service_account' })).body;
      const res = await api('POST', `/teams/${teamA}/clients/${created.client_id}/secret`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body.client_id).toBe(created.client_id);
      expect(res.body.client_secret).not.toBe(created.client_secret);
      expect((await tokenFor(created.client_id, res.body.client_secret)).status).toBe(200);
      expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(401);
    });

    it('with a grace period the old secret works until it ends, then fails', async () => {
      const created = (await create(teamA, { kind: 'service_account' })).body;
      const res = await api('POST', `/teams/${teamA}/clients/${created.client_id}/secret`, {
        body: { grace_period_seconds: 3600 },
      });
      expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(200);
      expect((await tokenFor(created.client_id, res.body.client_secret)).status).toBe(200);
      // The grace period ends (moved into the past rather than waited for).
      await server.keyport
        .db('o_auth_clients')
        .where({ client_id: created.client_id })
        .update({ previous_secret_expires_at: 1 });
      expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(401);
      expect((await tokenFor(created.client_id, res.body.client_secret)).status).toBe(200);
    });

    it('regenerating revives a revoked key; delete revokes and keeps the record', async () => {
      const created = (await create(teamA, { kind: 'service_account' })).body;
      expect((await api('DELETE', `/teams/${teamA}/clients/${created.client_id}`)).status).toBe(204);
      const gone = await api('GET', `/teams/${teamA}/clients/${created.client_id}`);
      expect(gone.body.is_valid).toBe(false);
      const revived = await api('POST', `/teams/${teamA}/clients/${created.client_id}/secret`, {
        body: { grace_period_seconds: 600 },
      });
      expect(revived.body.is_valid).toBe(true);
      expect((await tokenFor(created.client_id, revived.body.client_secret)).status).toBe(200);
      expect((await tokenFor(created.client_id, created.client_secret)).status).toBe(401);
    });

    it('an expired key fails with invalid_client and lists as not valid', async () => {
      const created = (await create(teamA, { kind: 'service_account', expires_in_days: 1 })).body;
      expect(Date.parse(created.expires_at) - Date.now()).toBeGreaterThan(86_000_000);
      await server.keyport.db('o_auth_clients').where({ client_id: created.client_id }).update({ expires_at: 1 });
      const res = await tokenFor(created.client_id, created.client_secret);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect((await api('GET', `/teams/${teamA}/clients/${created.client_id}`)).body.is_valid).toBe(false);
    });
  });

  describe('plan rules', () => {
    it('a plan without API access answers 403 insufficient_permissions and writes nothing', async () => {
      const before = await countClients();
      const res = await create(small, { kind: 'service_account' });
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_permissions');
      expect(await countClients()).toBe(before);
    });

    it("the plan's key limit: the next create answers 403 key_limit_reached; revoked keys do not count", async () => {
      const team = (await server.keyport.teamService.createTeam({ name: 'T', plan: 'tiny' })).id;
      const first = (await create(team, { kind: 'service_account' })).body;
      expect((await create(team, { kind: 'service_account' })).status).toBe(201);
      const refused = await create(team, { kind: 'service_account' });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('key_limit_reached');
      await api('DELETE', `/teams/${team}/clients/${first.client_id}`);
      expect((await create(team, { kind: 'service_account' })).status).toBe(201);
    });

    it('five creates racing for the last place: exactly one wins', async () => {
      const team = (await server.keyport.teamService.createTeam({ name: 'Race', plan: 'tiny' })).id;
      await create(team, { kind: 'service_account' });
      const results = await Promise.all(Array.from({ length: 5 }, () => create(team, { kind: 'service_account' })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 403, 403, 403, 403]);
      expect(Number((await server.keyport.db('o_auth_clients').where({ team_id: team }).count({ n: '*' }))[0]!.n)).toBe(
        2,
      );
    });
  });

  describe('bad input answers 400 invalid_request naming the field, and writes nothing', () => {
    it.each([
      ['malformed JSON', { body: '{"kind":', headers: {} }, /^body/],
      [
        'a wrong content type',
        { body: 'kind=service_account', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        /^content-type/,
      ],
      ['an unknown field', { body: { kind: 'service_account', admin: true } }, /^admin/],
      ['a wrong type', { body: { kind: 'service_account', scopes: 'api:read' } }, /^scopes/],
      ['an unknown kind', { body: { kind: 'superuser' } }, /^kind/],
      ['a 10,000-character name', { body: { kind: 'service_account', name: 'n'.repeat(10_000) } }, /^name/],
      ['an unknown scope', { body: { kind: 'service_account', scopes: ['root'] } }, /^scopes/],
      ['a JSON array', { body: [1, 2] }, /^(body|kind)/],
    ])('%s', async (_name, request, message) => {
      const before = await countClients();
      const res = await api(
        'POST',
        `/teams/${teamA}/clients`,
        request as { body: unknown; headers?: Record<string, string> },
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.message).toMatch(message);
      expect(res.text).not.toMatch(/at .*\.ts|SELECT|INSERT/);
      expect(await countClients()).toBe(before);
    });

    it('a 1 MB body answers 413', async () => {
      const res = await api('POST', `/teams/${teamA}/clients`, {
        body: JSON.stringify({ kind: 'service_account', name: 'x'.repeat(1024 * 1024) }),
      });
      expect(res.status).toBe(413);
      expect(res.body.error).toBe('invalid_request');
    });
  });

  describe('audit events', () => {
    it('record create, regenerate, patch, revoke and failed calls, newest first, with no secret', async () => {
      const team = (await server.keyport.teamService.createTeam({ name: 'Audited', plan: 'pro' })).id;
      const created = (await create(team, { kind: 'service_account', client_secret: 'Audit-secret-1' })).body;
      const regenerated = (await api('POST', `/teams/${team}/clients/${created.client_id}/secret`)).body;
      await api('PATCH', `/teams/${team}/clients/${created.client_id}`, { body: { name: 'x' } });
      await api('DELETE', `/teams/${team}/clients/${created.client_id}`);
      await create(team, { kind: 'service_account', bogus: 1 });
      const events = await api('GET', `/teams/${team}/events`);
      expect(events.status).toBe(200);
      expect(events.body.data.map((e: { action: string }) => e.action)).toEqual([
        'request.failed',
        'client.revoke',
        'client.update',
        'client.secret.regenerate',
        'client.create',
      ]);
      expect(events.body.data[1]).toMatchObject({
        actor: { type: 'operator' },
        client_id: created.client_id,
        status: 204,
        ip: expect.any(String),
      });
      expect(events.text).not.toContain('Audit-secret-1');
      expect(events.text).not.toContain(regenerated.client_secret);
    });
  });
});
