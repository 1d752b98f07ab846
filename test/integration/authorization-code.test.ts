import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { storageKey } from '../../src/persistence/sql/oidc-adapter.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { actionOf, authorizeThroughPages, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';

describe.each(DATABASES)('authorization_code with PKCE for apps on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let app: { id: string; secret: string };
  let teamId: number;
  let personId: number;
  let rs: { id: string; secret: string };
  const email = 'dev@acme.test';
  const password = 'Correct-Horse-9';

  const authorizeUrl = (challenge: string | null, extra: Record<string, string> = {}) => {
    const url = new URL('/auth', server.url);
    const params: Record<string, string> = {
      client_id: app.id,
      response_type: 'code',
      redirect_uri: OOB,
      scope: 'api:read',
      state: 'st<at>e"1',
      ...extra,
    };
    if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: 'S256' });
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  };
  const exchange = (
    code: string,
    verifier: string,
    extra: Record<string, string> = {},
    auth = basic(app.id, app.secret),
  ) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: OOB, code_verifier: verifier, ...extra },
      { authorization: auth },
    );
  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });

  async function newCode() {
    const { verifier, challenge } = pkce();
    const { done } = await authorizeThroughPages(new Browser(server.url), authorizeUrl(challenge), email, password);
    return { code: codeOf(done.text)!, verifier, page: done };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    personId = (await teamService.addPerson({ teamId, email, password, role: 'member' })).id;
    const created2 = await clientService.createApp({ teamId, name: 'Report <Builder>' });
    app = { id: created2.client.client_id, secret: created2.clientSecret! };
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });

  afterAll(async () => {
    await server.close();
    await drop();
  });

  it('the oob redirect shows the code, never the state, on a safe page; the code gets tokens for the person and team', async () => {
    const { code, verifier, page } = await newCode();
    expect(page.status).toBe(200);
    expect(code).toEqual(expect.any(String));
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // The caller's state is never shown on keyport's origin (issue 23 item 15), escaped or not.
    expect(page.text).not.toContain('st&lt;at&gt;e&quot;1');
    expect(page.text).not.toContain('st<at>e"1');
    expect(page.text).not.toContain('id="state"');
    expect(page.text).toContain('id="copy"');

    const tokens = await exchange(code, verifier);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read', refresh_token: expect.any(String) });
    const intro = await introspect(tokens.body.access_token as string);
    expect(intro.body).toMatchObject({
      active: true,
      sub: String(personId),
      team_id: teamId,
      client_id: app.id,
      scope: 'api:read',
    });
  });

  it('a loopback redirect (RFC 8252 §7.3) receives the code and state in its query', async () => {
    const loopback = await server.keyport.clientService.createApp({
      teamId,
      name: 'Desktop',
      redirectUris: ['http://127.0.0.1:8765/callback'],
    });
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    for (const [k, v] of Object.entries({
      client_id: loopback.client.client_id,
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:8765/callback',
      scope: 'api:read',
      state: 's1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(k, v);
    }
    const { done } = await authorizeThroughPages(new Browser(server.url), url.toString(), email, password);
    expect(done.status).toBe(303);
    const location = new URL(done.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://127.0.0.1:8765/callback');
    expect(location.searchParams.get('state')).toBe('s1');
    // A redirected code is redeemed by software at once: it keeps the short 60 s life.
    const row = await server.keyport
      .db('oidc_payloads')
      .where({ type: 'AuthorizationCode', id: storageKey(location.searchParams.get('code')!) })
      .first();
    expect(Number(row.expires_at) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
    const tokens = await postForm(
      `${server.url}/token`,
      {
        grant_type: 'authorization_code',
        code: location.searchParams.get('code')!,
        redirect_uri: 'http://127.0.0.1:8765/callback',
        code_verifier: verifier,
      },
      { authorization: basic(loopback.client.client_id, loopback.clientSecret!) },
    );
    expect(tokens.status).toBe(200);
  });

  it('the consent page names the app (escaped) and the scopes', async () => {
    const { consent } = await authorizeThroughPages(
      new Browser(server.url),
      authorizeUrl(pkce().challenge),
      email,
      password,
    );
    expect(consent.text).toContain('Report &lt;Builder&gt;');
    // Each scope once (issue 14, item 8).
    expect(consent.text.split('<code>api:read</code>').length - 1).toBe(1);
  });

  it('denying shows access_denied on the oob page and issues no code', async () => {
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl(pkce().challenge));
    const consent = await browser.follow(actionOf(login.text), { form: { csrf: csrfOf(login.text), email, password } });
    const denied = await browser.follow(actionOf(consent.text, 'deny'), { form: { csrf: csrfOf(consent.text) } });
    expect(denied.status).toBe(200);
    expect(denied.text).toContain('access_denied');
    expect(codeOf(denied.text)).toBeUndefined();
  });

  it('PKCE is required: without it the person sees an error and no code is issued', async () => {
    const res = await new Browser(server.url).follow(authorizeUrl(null));
    expect(res.text).toMatch(/invalid_request/);
    expect(res.text).toMatch(/PKCE|code_challenge/i);
    expect(codeOf(res.text)).toBeUndefined();
  });

  it('plain PKCE is refused', async () => {
    const res = await new Browser(server.url).follow(
      authorizeUrl(null, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }),
    );
    expect(res.text).toMatch(/invalid_request/);
    expect(codeOf(res.text)).toBeUndefined();
  });

  it('a wrong password shows an error without saying whether the email exists', async () => {
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl(pkce().challenge));
    const wrong = await browser.request(actionOf(login.text), {
      form: { csrf: csrfOf(login.text), email, password: 'wrong-password' },
    });
    const unknown = await browser.request(actionOf(login.text), {
      form: { csrf: csrfOf(login.text), email: 'nobody@acme.test', password: 'wrong-password' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('Wrong email or password.');
    expect(unknown.text.replace('nobody@acme.test', email)).toBe(wrong.text);
  });

  it('repeated wrong passwords for one email are slowed down (429), and the right one then waits too', async () => {
    const victim = 'slow@acme.test';
    await server.keyport.teamService.addPerson({ teamId, email: victim, password });
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl(pkce().challenge));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (
          await browser.request(actionOf(login.text), {
            form: { csrf: csrfOf(login.text), email: victim, password: 'nope-nope' },
          })
        ).status,
      );
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    const right = await browser.request(actionOf(login.text), {
      form: { csrf: csrfOf(login.text), email: victim, password },
    });
    expect(right.status).toBe(429);
    expect(right.text).toMatch(/Try again in \d+ seconds/);
  });

  it('every form refuses a missing or wrong CSRF token', async () => {
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl(pkce().challenge));
    const res = await browser.request(actionOf(login.text), { form: { csrf: 'forged', email, password } });
    expect(res.status).toBe(403);
    const none = await browser.request(actionOf(login.text), { form: { email, password } });
    expect(none.status).toBe(403);
  });

  describe('RFC 6749 §4.1.2 and RFC 7636 at the token endpoint', () => {
    it('a code is single-use: the second redemption is invalid_grant and the first tokens stop working', async () => {
      const { code, verifier } = await newCode();
      const first = await exchange(code, verifier);
      expect(first.status).toBe(200);
      const second = await exchange(code, verifier);
      expect(second.status).toBe(400);
      expect(second.body.error).toBe('invalid_grant');
      expect((await introspect(first.body.access_token as string)).body).toEqual({ active: false });
    });

    it('five parallel redemptions of one code: exactly one succeeds', async () => {
      const { code, verifier } = await newCode();
      const results = await Promise.all(Array.from({ length: 5 }, () => exchange(code, verifier)));
      expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
    });

    it('a wrong code_verifier is invalid_grant', async () => {
      const { code } = await newCode();
      const res = await exchange(code, pkce().verifier);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });

    it('a code is bound to its client', async () => {
      const other = await server.keyport.clientService.createApp({ teamId, name: 'Other' });
      const { code, verifier } = await newCode();
      const res = await exchange(code, verifier, {}, basic(other.client.client_id, other.clientSecret!));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });

    it('a code is bound to its redirect_uri', async () => {
      const { code, verifier } = await newCode();
      const res = await exchange(code, verifier, { redirect_uri: 'https://elsewhere.example/cb' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });

    it('a code shown on the oob page lasts oob_code_ttl_seconds (10 minutes), then expires', async () => {
      const { code, verifier } = await newCode();
      const row = await server.keyport
        .db('oidc_payloads')
        .where({ type: 'AuthorizationCode', id: storageKey(code!) })
        .first();
      // A person copies it by hand: 600 s by default, not the 60 s of a redirect.
      expect(Number(row.expires_at) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(600);
      expect(Number(row.expires_at) - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
      // Time passes (the expiry is moved, not waited for).
      await server.keyport
        .db('oidc_payloads')
        .where({ type: 'AuthorizationCode', id: storageKey(code!) })
        .update({ expires_at: Math.floor(Date.now() / 1000) - 1 });
      const res = await exchange(code, verifier);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });

    it('refresh tokens rotate on use', async () => {
      const { code, verifier } = await newCode();
      const tokens = await exchange(code, verifier);
      const refresh = tokens.body.refresh_token as string;
      const refreshed = await postForm(
        `${server.url}/token`,
        { grant_type: 'refresh_token', refresh_token: refresh },
        { authorization: basic(app.id, app.secret) },
      );
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(refresh);
      expect((await introspect(refreshed.body.access_token as string)).body).toMatchObject({
        active: true,
        sub: String(personId),
      });
      const reused = await postForm(
        `${server.url}/token`,
        { grant_type: 'refresh_token', refresh_token: refresh },
        { authorization: basic(app.id, app.secret) },
      );
      expect(reused.status).toBe(400);
      expect(reused.body.error).toBe('invalid_grant');
    });
  });
});
