import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { actionOf, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';
import { clientAuthenticatingPaths } from '../../src/oidc/client-auth-routes.js';

/**
 * The outside review of round 2 (issue 13): each rule is an attack that
 * worked against the server before its fix.
 */
const OPERATOR = 'o'.repeat(40);
const settings = {
  admin_token: OPERATOR,
  plans: {
    pro: { api_access: true, max_keys: 50 },
    tiny: { api_access: true, max_keys: 2 },
    starter: { api_access: false, max_keys: 10 },
  },
  auth_failures: { per_client: 5, per_address: 12, window_seconds: 300 },
};

/** A request from a chosen loopback address, with any Host header (fetch will not send a forged one). */
function rawRequest(
  url: string,
  {
    method = 'GET',
    localAddress = '127.0.0.1',
    headers = {},
    body,
  }: { method?: string; localAddress?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    body: Record<string, unknown>;
  }>((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        localAddress,
        headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const formFrom = (localAddress: string, url: string, form: Record<string, string>, authorization?: string) =>
  rawRequest(url, {
    method: 'POST',
    localAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(form).toString(),
  });

describe.each(DATABASES)('security rules across surfaces on $name', (database) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;
  let rs: { id: string; secret: string };
  const password = 'Correct-Horse-9';

  const api = async (
    method: string,
    path: string,
    token: string | null = OPERATOR,
    body?: unknown,
    localAddress = '127.0.0.1',
  ) => {
    const res = await rawRequest(`${server.url}/api${path}`, {
      method,
      localAddress,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res;
  };
  const tokenFor = (key: { id: string; secret: string }, scope = 'api:read', localAddress = '127.0.0.1') =>
    formFrom(
      localAddress,
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope },
      basic(key.id, key.secret),
    );
  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });
  const serviceAccount = async (team: number, scopes = ['api:read', 'keys:manage']) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId: team, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const authorizeUrl = (clientId: string, challenge: string, scope = 'api:read') => {
    const url = new URL('/auth', server.url);
    for (const [k, v] of Object.entries({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: OOB,
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    return url.toString();
  };
  /** Signs in (when asked to) and approves; returns the last page. */
  async function signInAndApprove(browser: Browser, clientId: string, email: string, challenge: string) {
    let page = await browser.follow(authorizeUrl(clientId, challenge));
    if (page.text.includes('id="password"'))
      page = await browser.follow(actionOf(page.text), { form: { csrf: csrfOf(page.text), email, password } });
    if (page.text.includes('id="approve"'))
      page = await browser.follow(actionOf(page.text, 'approve'), { form: { csrf: csrfOf(page.text) } });
    return page;
  }
  const redeem = (app: { id: string; secret: string }, code: string, verifier: string) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.id, app.secret) },
    );

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings);
    second = await startServer(created.url, { ...settings, keys_dir: server.config.keysDir });
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });

  // Each rule starts from clean throttles: the tests share 127.0.0.1.
  beforeEach(async () => {
    await server.keyport.db('rate_limits').delete();
    server.keyport.limits.failures.forget();
    second.keyport.limits.failures.forget();
  });

  afterAll(async () => {
    await second?.close();
    await server?.close();
    await drop?.();
  });

  describe('1. an app acts only for people of its own team', () => {
    let appA: { id: string; secret: string };
    let appB: { id: string; secret: string };

    beforeAll(async () => {
      await server.keyport.teamService.addPerson({ teamId: teamA, email: 'alice@a.test', password });
      await server.keyport.teamService.addPerson({ teamId: teamB, email: 'bob@b.test', password });
      const a = await server.keyport.clientService.createApp({ teamId: teamA, name: 'App of A' });
      const b = await server.keyport.clientService.createApp({ teamId: teamB, name: 'App of B' });
      appA = { id: a.client.client_id, secret: a.clientSecret! };
      appB = { id: b.client.client_id, secret: b.clientSecret! };
    });

    it("a person signed in through their own team's app is asked to sign in again at another team's app, and gets no code", async () => {
      const browser = new Browser(server.url);
      const own = pkce();
      expect(codeOf((await signInAndApprove(browser, appB.id, 'bob@b.test', own.challenge)).text)).toEqual(
        expect.any(String),
      );

      // Same browser, team A's app: the session must not skip sign-in, and no consent page is offered.
      const other = pkce();
      const page = await browser.follow(authorizeUrl(appA.id, other.challenge));
      expect(page.text).toContain('id="password"');
      expect(page.text).not.toContain('id="approve"');
      // Bob's own password does not make him a member of team A.
      const again = await browser.follow(actionOf(page.text), {
        form: { csrf: csrfOf(page.text), email: 'bob@b.test', password },
      });
      expect(again.status).toBe(401);
      expect(codeOf(again.text)).toBeUndefined();
    });

    it('a code or refresh token of a person who left the team (or was deleted) redeems to nothing', async () => {
      const carol = await server.keyport.teamService.addPerson({ teamId: teamA, email: 'carol@a.test', password });
      const first = pkce();
      const code1 = codeOf(
        (await signInAndApprove(new Browser(server.url), appA.id, 'carol@a.test', first.challenge)).text,
      )!;
      const tokens = await redeem(appA, code1, first.verifier);
      expect(tokens.status).toBe(200);
      const second = pkce();
      const code2 = codeOf(
        (await signInAndApprove(new Browser(server.url), appA.id, 'carol@a.test', second.challenge)).text,
      )!;

      await server.keyport.db('team_memberships').where({ user_id: carol.id }).delete();
      const late = await redeem(appA, code2, second.verifier);
      expect(late.status).toBe(400);
      expect(late.body.error).toBe('invalid_grant');
      const refreshed = await postForm(
        `${server.url}/token`,
        { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
        { authorization: basic(appA.id, appA.secret) },
      );
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
    });
  });

  describe('2. revoked means revoked, for good', () => {
    for (const how of ['DELETE', 'PATCH is_valid:false'] as const) {
      it(`a token issued before a revocation (${how}) stays inactive after the key is revived by a new secret`, async () => {
        const key = await serviceAccount(teamA);
        const old = (await tokenFor(key, 'api:read keys:manage')).body.access_token as string;
        expect((await introspect(old)).body.active).toBe(true);
        const revoked =
          how === 'DELETE'
            ? await api('DELETE', `/teams/${teamA}/clients/${key.id}`)
            : await api('PATCH', `/teams/${teamA}/clients/${key.id}`, OPERATOR, { is_valid: false });
        expect(revoked.status).toBe(how === 'DELETE' ? 204 : 200);

        const revived = await api('POST', `/teams/${teamA}/clients/${key.id}/secret`, OPERATOR, {});
        expect(revived.status).toBe(200);
        expect((await introspect(old)).body).toEqual({ active: false });
        expect((await api('GET', `/teams/${teamA}/clients`, old)).status).toBe(401);
        // The revived key gets new tokens that work.
        const fresh = await tokenFor({ id: key.id, secret: revived.body.client_secret as string });
        expect(fresh.status).toBe(200);
        expect((await introspect(fresh.body.access_token as string)).body.active).toBe(true);
      });
    }

    it("an app's refresh token from before a revocation never refreshes again after the app is revived", async () => {
      await server.keyport.teamService.addPerson({ teamId: teamA, email: 'dan@a.test', password });
      const app = await server.keyport.clientService.createApp({ teamId: teamA, name: 'revived app' });
      const { verifier, challenge } = pkce();
      const code = codeOf(
        (await signInAndApprove(new Browser(server.url), app.client.client_id, 'dan@a.test', challenge)).text,
      )!;
      const tokens = await redeem({ id: app.client.client_id, secret: app.clientSecret! }, code, verifier);
      expect(tokens.status).toBe(200);
      await server.keyport.clientService.revoke(app.client.client_id);
      const revived = await server.keyport.clientService.regenerateSecret(app.client.client_id, {});
      const refreshed = await postForm(
        `${server.url}/token`,
        { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string },
        { authorization: basic(app.client.client_id, revived.clientSecret!) },
      );
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
      expect((await introspect(tokens.body.access_token as string)).body).toEqual({ active: false });
    });
  });

  it('3. reviving a revoked key counts against the plan limit like creating one', async () => {
    const tiny = (await server.keyport.teamService.createTeam({ name: 'Tiny', plan: 'tiny' })).id;
    const first = await api('POST', `/teams/${tiny}/clients`, OPERATOR, { kind: 'service_account', name: 'one' });
    await api('POST', `/teams/${tiny}/clients`, OPERATOR, { kind: 'service_account', name: 'two' });
    expect((await api('DELETE', `/teams/${tiny}/clients/${first.body.client_id}`)).status).toBe(204);
    expect(
      (await api('POST', `/teams/${tiny}/clients`, OPERATOR, { kind: 'service_account', name: 'three' })).status,
    ).toBe(201);

    const revive = await api('POST', `/teams/${tiny}/clients/${first.body.client_id}/secret`, OPERATOR, {});
    expect(revive.status).toBe(403);
    expect(revive.body.error).toBe('key_limit_reached');
    const valid = await server.keyport
      .db('o_auth_clients')
      .where({ team_id: tiny })
      .whereNull('revoked_at')
      .count({ n: '*' });
    expect(Number(valid[0]!.n)).toBe(2);
  });

  it("4. removing a scope from a key takes it from the key's tokens already issued", async () => {
    const key = await serviceAccount(teamA);
    const token = (await tokenFor(key, 'api:read keys:manage')).body.access_token as string;
    expect((await api('GET', `/teams/${teamA}/clients`, token)).status).toBe(200);
    expect((await api('PATCH', `/teams/${teamA}/clients/${key.id}`, OPERATOR, { scopes: ['api:read'] })).status).toBe(
      200,
    );

    const denied = await api('GET', `/teams/${teamA}/clients`, token);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('insufficient_permissions');
    expect((await introspect(token)).body).toMatchObject({ active: true, scope: 'api:read' });
  });

  describe('5. every endpoint that authenticates clients is throttled the same way', () => {
    it('endpoints keyport does not use are off: pushed authorization requests answer 404', async () => {
      const key = await serviceAccount(teamA);
      const res = await formFrom(
        '127.0.0.5',
        `${server.url}/request`,
        { client_id: key.id, response_type: 'code' },
        basic(key.id, 'wrong'),
      );
      expect(res.status).toBe(404);
      const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      for (const gone of [
        'pushed_authorization_request_endpoint',
        'device_authorization_endpoint',
        'backchannel_authentication_endpoint',
        'registration_endpoint',
      ]) {
        expect(discovery[gone]).toBeUndefined();
      }
    });

    it('every client-authenticating endpoint in discovery counts failures and answers 429 past the threshold', async () => {
      const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
        string,
        string
      >;
      const endpoints = Object.entries(discovery)
        .filter(([name, value]) => name.endsWith('_endpoint') && typeof value === 'string')
        .map(([, value]) => new URL(value).pathname);
      const throttled = clientAuthenticatingPaths(server.keyport.provider);
      // What discovery names and authenticates clients is in the throttled list.
      for (const path of ['/token', '/token/introspection', '/token/revocation']) expect(endpoints).toContain(path);
      expect([...throttled].sort()).toEqual(['/token', '/token/introspection', '/token/revocation']);

      for (const [i, path] of [...throttled].entries()) {
        const key = await serviceAccount(teamA);
        const address = `127.0.1.${i + 1}`;
        const form: Record<string, string> = path === '/token' ? { grant_type: 'client_credentials' } : { token: 'x' };
        for (let n = 0; n < settings.auth_failures.per_client; n++) {
          expect((await formFrom(address, `${server.url}${path}`, form, basic(key.id, `wrong-${n}`))).status).toBe(401);
        }
        const refused = await formFrom(address, `${server.url}${path}`, form, basic(key.id, key.secret));
        expect(refused.status, path).toBe(429);
        expect(refused.body.error).toBe('rate_limit_exceeded');
      }
    });
  });

  it('6. wrong secrets from one address do not lock the owner out from another', async () => {
    const key = await serviceAccount(teamA);
    for (let n = 0; n < 2 * settings.auth_failures.per_client; n++)
      await tokenFor({ id: key.id, secret: `guess-${n}` }, 'api:read', '127.0.2.1');
    // The attacker's address is refused for this client, even with the right secret ...
    expect((await tokenFor(key, 'api:read', '127.0.2.1')).status).toBe(429);
    // ... and the owner, elsewhere, is not; on the other process too.
    expect((await tokenFor(key, 'api:read', '127.0.2.2')).status).toBe(200);
    const viaSecond = await formFrom(
      '127.0.2.3',
      `${second.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      basic(key.id, key.secret),
    );
    expect(viaSecond.status).toBe(200);
  });

  describe('7. sign-in is throttled for real', () => {
    let app: { id: string; secret: string };
    beforeAll(async () => {
      const created = await server.keyport.clientService.createApp({ teamId: teamA, name: 'sign-in' });
      app = { id: created.client.client_id, secret: created.clientSecret! };
    });
    const loginForm = async (base: string) => {
      const browser = new Browser(base);
      const page = await browser.follow(
        new URL(new URL(authorizeUrl(app.id, pkce().challenge)).search, `${base}/auth`).toString(),
      );
      return { browser, page };
    };
    const signIn = async (from: { browser: Browser; page: { text: string } }, email: string, pw: string) =>
      from.browser.request(actionOf(from.page.text), { form: { csrf: csrfOf(from.page.text), email, password: pw } });

    it('wrong passwords for one account are counted in the database, so two processes share the count', async () => {
      await server.keyport.teamService.addPerson({ teamId: teamA, email: 'erin@a.test', password });
      const viaFirst = await loginForm(server.url);
      const viaSecond = await loginForm(second.url);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await signIn(i % 2 ? viaSecond : viaFirst, 'erin@a.test', `wrong-${i}`)).status);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toContain(429);
    });

    it('concurrent sign-ins from one address run no more bcrypt checks than the address is allowed', async () => {
      const from = await loginForm(server.url);
      const before = server.keyport.limits.bcrypt.started;
      const attempts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => signIn(from, `nobody${i}@x.test`, 'nope-nope')),
      );
      const ran = server.keyport.limits.bcrypt.started - before;
      expect(ran).toBeGreaterThan(0);
      expect(ran).toBeLessThanOrEqual(settings.auth_failures.per_address);
      expect(attempts.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(
        40 - settings.auth_failures.per_address,
      );
    });

    it('an email is compared exactly: adä@ is not ada@', async () => {
      await server.keyport.teamService.addPerson({ teamId: teamA, email: 'ada@a.test', password });
      const from = await loginForm(second.url);
      const res = await signIn(from, 'adä@a.test', password);
      expect(res.status).toBe(401);
      const ok = await signIn(from, ' ADA@a.test ', password);
      expect(ok.status).toBe(303);
    });
  });

  describe('8. the issuer is configuration, not a Host header', () => {
    it('an assertion whose aud names a forged host is refused when the request claims that host', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const created = await server.keyport.clientService.createServiceAccount({
        teamId: teamA,
        name: 'jwt',
        publicKeyPem: await exportSPKI(publicKey),
      });
      const clientId = created.client.client_id;
      const sign = (aud: string) =>
        new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'RS256' })
          .setIssuer(clientId)
          .setSubject(clientId)
          .setAudience(aud)
          .setIssuedAt()
          .setExpirationTime('60s')
          .sign(privateKey);
      const form = async (aud: string) =>
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await sign(aud),
        }).toString();
      const post = async (aud: string, host?: string) =>
        rawRequest(`${server.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(host ? { host } : {}) },
          body: await form(aud),
        });

      const forged = await post('http://evil.example/token', 'evil.example');
      expect(forged.status).toBe(401);
      expect((await post(`${server.url}/token`, 'evil.example')).status).toBe(200);
    });

    it('discovery names only the configured issuer, whatever the Host header says', async () => {
      const res = await rawRequest(`${server.url}/.well-known/openid-configuration`, {
        headers: { host: 'evil.example' },
      });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('evil.example');
      expect(res.body.token_endpoint).toBe(`${server.url}/token`);
    });
  });

  describe('9. anonymous requests cost nothing durable', () => {
    it('unauthenticated admin calls write no audit rows and are refused per address past the limit', async () => {
      const count = async () => Number((await server.keyport.db('audit_events').count({ n: '*' }))[0]!.n);
      const before = await count();
      const statuses: number[] = [];
      for (let i = 0; i < settings.auth_failures.per_address + 3; i++)
        statuses.push((await api('GET', `/teams/${teamA}/clients`, `made-up-${i}`, undefined, '127.0.3.1')).status);
      expect(await count()).toBe(before);
      expect(statuses.slice(0, settings.auth_failures.per_address).every((s) => s === 401)).toBe(true);
      expect(statuses.at(-1)).toBe(429);
    });

    it('anonymous authorization requests are limited per address and their interactions live minutes, not an hour', async () => {
      const app = await server.keyport.clientService.createApp({ teamId: teamA, name: 'anon' });
      const statuses: number[] = [];
      for (let i = 0; i < 80; i++)
        statuses.push(
          (await rawRequest(authorizeUrl(app.client.client_id, pkce().challenge), { localAddress: '127.0.3.2' }))
            .status,
        );
      expect(statuses.filter((s) => s === 303).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 303).length).toBeLessThanOrEqual(60);
      expect(statuses.at(-1)).toBe(429);
      const latest = await server.keyport.db('oidc_payloads').where({ type: 'Interaction' }).max({ at: 'expires_at' });
      expect(Number(latest[0]!.at) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(15 * 60);
    });
  });

  describe('10. names are names', () => {
    it('scope and plan names are looked up as own names only', async () => {
      const scopes = await api('POST', `/teams/${teamA}/clients`, OPERATOR, {
        kind: 'service_account',
        name: 'x',
        scopes: ['constructor'],
      });
      expect(scopes.status).toBe(400);
      expect(scopes.body.error).toBe('invalid_request');
      await expect(server.keyport.teamService.createTeam({ name: 'Proto', plan: 'toString' })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    });

    it('names with bidi overrides or control characters are refused', async () => {
      for (const name of ['pay\u202Elanigiro', 'a\u2066b', 'tab\there', 'c1\u0085']) {
        const res = await api('POST', `/teams/${teamA}/clients`, OPERATOR, { kind: 'service_account', name });
        expect(res.status, JSON.stringify(name)).toBe(400);
        expect(res.body.error).toBe('invalid_request');
      }
      await expect(server.keyport.teamService.createTeam({ name: 'evil\u202E', plan: 'pro' })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    });
  });

  it("12. pages oidc-provider would write itself are off or carry keyport's headers", async () => {
    expect((await fetch(`${server.url}/session/end`)).status).toBe(404);
    const error = await fetch(`${server.url}/auth?client_id=nobody&response_type=code`);
    expect(error.status).toBe(400);
    expect(error.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(error.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(error.headers.get('cache-control')).toBe('no-store');
  });

  describe('13. odd requests are the client’s fault', () => {
    it('an unknown method answers 4xx, not 501', async () => {
      for (const path of ['/x', '/token', '/api/teams/1/clients']) {
        const res = await rawRequest(`${server.url}${path}`, { method: 'PROPFIND' });
        expect(res.status, path).toBeGreaterThanOrEqual(400);
        expect(res.status, path).toBeLessThan(500);
      }
    });
  });
});

describe.each(DATABASES)('/readyz on $name after the database vanished', (database) => {
  it('says the database is unreachable, not that migrations are behind', async () => {
    const created = await database.create();
    const server = await startServer(created.url);
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      if (database.name !== 'sqlite') {
        // Dropped from another connection (PostgreSQL ends the server's own with FORCE).
        await created.drop();
      } else {
        // An SQLite file replaced under a running server reads as one with no tables.
        await server.keyport.db.raw('PRAGMA foreign_keys = OFF');
        for (const table of await server.keyport.db('sqlite_master').where({ type: 'table' }).pluck('name')) {
          if (!String(table).startsWith('sqlite_')) await server.keyport.db.schema.dropTable(table);
        }
      }
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reason: string }).reason).toMatch(/^database unreachable/);
    } finally {
      await server.close();
      await created.drop();
    }
  });
});
