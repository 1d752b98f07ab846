import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const publicPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

/** Every admin-API route with the action it needs; `:client` is a key of the team in the path. */
const ROUTES: ReadonlyArray<{ method: string; path: string; body?: () => unknown }> = [
  { method: 'POST', path: '/clients', body: () => ({ kind: 'service_account', name: 'made' }) },
  { method: 'GET', path: '/clients' },
  { method: 'GET', path: '/clients/:client' },
  { method: 'PATCH', path: '/clients/:client', body: () => ({ name: 'renamed' }) },
  { method: 'GET', path: '/clients/:client/usage' },
  {
    method: 'POST',
    path: '/clients/:jwt/keys',
    body: () => ({ public_key: publicPem() }),
  },
  { method: 'DELETE', path: '/clients/:jwt/keys/:kid' },
  { method: 'POST', path: '/clients/:client/secret', body: () => ({}) },
  { method: 'DELETE', path: '/clients/:client' },
  { method: 'GET', path: '/events' },
];

/** The admin API's access rules, one request per route and caller, on every database. */
describe.each(DATABASES)('admin API access rules on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;

  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  /** A fresh key and JWT key of `team`, so a route that revokes or renames leaves the next one its own. */
  async function targetsIn(team: number) {
    const { clientService } = server.keyport;
    const client = await clientService.createServiceAccount({ teamId: team, name: 'target' });
    const jwt = await clientService.createServiceAccount({
      teamId: team,
      name: 'jwt-target',
      publicKeyPem: publicPem(),
    });
    // A second key, so that removing one never removes the last.
    const kid = await clientService.addPublicKey(jwt.client.client_id, publicPem());
    return { client: client.client.client_id, jwt: jwt.client.client_id, kid };
  }
  const pathOf = (team: number, route: (typeof ROUTES)[number], t: { client: string; jwt: string; kid: string }) =>
    `/teams/${team}${route.path.replace(':client', t.client).replace(':jwt', t.jwt).replace(':kid', t.kid)}`;

  async function clientToken(team: number, scope: string) {
    const made = await server.keyport.clientService.createServiceAccount({
      teamId: team,
      name: 'caller',
      scopes: scope.split(' '),
    });
    const res = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope },
      { authorization: basic(made.client.client_id, made.clientSecret!) },
    );
    return res.body.access_token as string;
  }

  /** The token an app holds after a person approved it, stored the way oidc-provider stores it. */
  async function personToken(team: number, role: 'admin' | 'member') {
    const { teamService, clientService, provider } = server.keyport;
    const person = await teamService.addPerson({
      teamId: team,
      email: `${role}-${randomBytes(4).toString('hex')}@a.test`,
      password: 'Correct-Horse-3',
      role,
    });
    const app = await clientService.createApp({ teamId: team, name: 'console', scopes: ['keys:manage'] });
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
        grantId: `g-${jti}`,
        gty: 'authorization_code',
      },
      600,
    );
    return { token: jti, userId: person.id };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 500 } },
    });
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  describe.each(ROUTES)('$method /api/teams/:team$path', (route) => {
    it("a keys:manage client of the team is let in; on another team's path it answers 404 not_found", async () => {
      const token = await clientToken(teamA, 'keys:manage');
      const own = await api(route.method, pathOf(teamA, route, await targetsIn(teamA)), token, route.body?.());
      expect(own.status).toBeLessThan(300);
      const theirs = await api(route.method, pathOf(teamB, route, await targetsIn(teamB)), token, route.body?.());
      expect(theirs.status).toBe(404);
      expect(theirs.body.error).toBe('not_found');
    });

    it('a client token without keys:manage answers 403 insufficient_permissions', async () => {
      const token = await clientToken(teamA, 'api:read');
      const res = await api(route.method, pathOf(teamA, route, await targetsIn(teamA)), token, route.body?.());
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_permissions');
    });

    it("a team admin's delegated token is let in; a member's answers 403 insufficient_permissions", async () => {
      const admin = await personToken(teamA, 'admin');
      const allowed = await api(
        route.method,
        pathOf(teamA, route, await targetsIn(teamA)),
        admin.token,
        route.body?.(),
      );
      expect(allowed.status).toBeLessThan(300);
      const member = await personToken(teamA, 'member');
      const refused = await api(
        route.method,
        pathOf(teamA, route, await targetsIn(teamA)),
        member.token,
        route.body?.(),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('insufficient_permissions');
    });

    it('the operator reaches every team', async () => {
      for (const team of [teamA, teamB]) {
        const res = await api(route.method, pathOf(team, route, await targetsIn(team)), OPERATOR, route.body?.());
        expect(res.status).toBeLessThan(300);
      }
    });
  });

  describe.each(ROUTES.filter((r) => r.path.includes(':')))('$method /api/teams/:team$path', (route) => {
    it("another team's key named under the caller's own team answers 404 not_found", async () => {
      const token = await clientToken(teamA, 'keys:manage');
      const res = await api(route.method, pathOf(teamA, route, await targetsIn(teamB)), token, route.body?.());
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
    });
  });

  it('a demoted admin loses access at the next request; promoted again, regains it', async () => {
    const admin = await personToken(teamA, 'admin');
    expect((await api('GET', `/teams/${teamA}/clients`, admin.token)).status).toBe(200);
    const membership = server.keyport.db('team_memberships').where({ team_id: teamA, user_id: admin.userId });
    await membership.clone().update({ role: 'member' });
    const demoted = await api('GET', `/teams/${teamA}/clients`, admin.token);
    expect(demoted.status).toBe(403);
    expect(demoted.body.error).toBe('insufficient_permissions');
    await membership.clone().update({ role: 'admin' });
    expect((await api('GET', `/teams/${teamA}/clients`, admin.token)).status).toBe(200);
  });

  it('a person removed from the team keeps no access through an app token', async () => {
    const admin = await personToken(teamA, 'admin');
    await server.keyport.db('team_memberships').where({ team_id: teamA, user_id: admin.userId }).delete();
    const res = await api('GET', `/teams/${teamA}/clients`, admin.token);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_permissions');
  });
});
