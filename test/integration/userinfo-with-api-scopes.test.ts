import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { actionOf, Browser, csrfOf } from '../helpers/auth-flow.js';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-authlib (.ci/run installs it)
const AUTHLIB_CODE = join(import.meta.dirname, '../clients/authlib_code.py');

/**
 * Issue 24 item 9: an app asking for `openid` together with an API scope, on
 * openid-client's defaults (no `resource` parameter), gets one access token
 * that reads userinfo and is still the API's (introspection, /keys/verify).
 */
describe.each(DATABASES)('userinfo with API scopes on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let app: { id: string; secret: string };
  let rs: { id: string; secret: string };
  let personId: number;
  const redirectUri = 'http://127.0.0.1:8767/callback';
  const email = 'katherine@acme.test';
  const password = 'Johnson-Orbit-7';

  /** Sign in and approve through the pages as a browser would; the URL the app is sent back to. */
  async function personApproves(authorizationUrl: string) {
    const browser = new Browser(server.url);
    let page = await browser.follow(authorizationUrl);
    page = await browser.follow(actionOf(page.text), { form: { csrf: csrfOf(page.text), email, password } });
    if (page.text.includes('id="approve"'))
      page = await browser.follow(actionOf(page.text, 'approve'), { form: { csrf: csrfOf(page.text) } });
    expect(page.status).toBe(303);
    return new URL(page.headers.get('location')!);
  }

  async function tokensFor(scope: string) {
    const config = await oauth.discovery(new URL(server.url), app.id, undefined, oauth.ClientSecretBasic(app.secret), {
      execute: [oauth.allowInsecureRequests],
    });
    const verifier = oauth.randomPKCECodeVerifier();
    // A nonce goes only with openid (OpenID Connect Core §3.1.2.1).
    const nonce = scope.split(' ').includes('openid') ? oauth.randomNonce() : undefined;
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
      ...(nonce ? { nonce } : {}),
    });
    const tokens = await oauth.authorizationCodeGrant(config, await personApproves(url.href), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
      expectedNonce: nonce,
    });
    return { config, tokens };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    const { teamService, clientService } = server.keyport;
    const teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    personId = (await teamService.addPerson({ teamId, email, password })).id;
    const a = await clientService.createApp({ teamId, name: 'Notebook', redirectUris: [redirectUri] });
    app = { id: a.client.client_id, secret: a.clientSecret! };
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('openid profile api:read with openid-client: userinfo answers 200 with sub, and the API takes the same token', async () => {
    const { config, tokens } = await tokensFor('openid profile api:read');
    expect(tokens.claims()!.sub).toBe(String(personId));

    // openid-client on its defaults: GET /me with the access token as a Bearer header.
    const raw = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(raw.status).toBe(200);
    const info = await oauth.fetchUserInfo(config, tokens.access_token, String(personId));
    expect(info.sub).toBe(String(personId));
    // Only the granted OpenID Connect scopes' claims: no email without the email scope.
    expect(info.email).toBeUndefined();
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'api:read']));

    // The same token is still the API's: a resource server's introspection and /keys/verify.
    const introspected = await postForm(
      `${server.url}/token/introspection`,
      { token: tokens.access_token },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(introspected.status).toBe(200);
    expect(introspected.body).toMatchObject({ active: true, sub: String(personId), aud: 'urn:keyport:api' });
    expect(String(introspected.body.scope).split(' ')).toContain('api:read');
    const verified = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key: tokens.access_token }),
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ valid: true, code: 'VALID' });

    // A refreshed token keeps both uses.
    const refreshed = await oauth.refreshTokenGrant(config, tokens.refresh_token!);
    const again = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
    expect(again.status).toBe(200);
  });

  it("Python authlib on its defaults with openid profile api:read reads userinfo with the API's token", async () => {
    const run = promisify(execFile);
    const env = { ...process.env, SCOPE: 'openid profile api:read' };
    const start = JSON.parse(
      (await run(PYTHON, [AUTHLIB_CODE, 'authorize', server.url, app.id, app.secret, redirectUri], { env })).stdout,
    ) as Record<string, string>;
    const callback = await personApproves(start.url!);
    const { stdout, stderr } = await run(
      PYTHON,
      [
        AUTHLIB_CODE,
        'token',
        server.url,
        app.id,
        app.secret,
        redirectUri,
        callback.href,
        start.code_verifier!,
        start.state!,
        start.nonce!,
      ],
      { env },
    );
    expect(stderr).toBe('');
    const out = JSON.parse(stdout) as { id_token_claims: Record<string, unknown>; userinfo: Record<string, unknown> };
    expect(out.id_token_claims.sub).toBe(String(personId));
    expect(out.userinfo).toEqual({ sub: String(personId) });
  });

  it('a token for the API without openid still cannot read userinfo (403 insufficient_scope)', async () => {
    const { tokens } = await tokensFor('api:read');
    const res = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
  });
});
