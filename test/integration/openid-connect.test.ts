import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { actionOf, Browser, csrfOf } from '../helpers/auth-flow.js';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-authlib (.ci/run installs it)
const AUTHLIB_CODE = join(import.meta.dirname, '../clients/authlib_code.py');

/** Issue 14, item 7: OpenID Connect for apps, with real client libraries on their defaults. */
describe.each(DATABASES)('OpenID Connect for apps on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let app: { id: string; secret: string };
  let personId: number;
  const redirectUri = 'http://127.0.0.1:8766/callback';
  const email = 'grace@acme.test';
  const password = 'Hopper-Cobol-1';

  /** What a person does in the browser: sign in, approve; returns the URL the app is sent back to. */
  async function personSignsIn(authorizationUrl: string) {
    const browser = new Browser(server.url);
    let page = await browser.follow(authorizationUrl);
    page = await browser.follow(actionOf(page.text), { form: { csrf: csrfOf(page.text), email, password } });
    if (page.text.includes('id="approve"'))
      page = await browser.follow(actionOf(page.text, 'approve'), { form: { csrf: csrfOf(page.text) } });
    expect(page.status).toBe(303);
    return { location: page.headers.get('location')!, consentShown: page };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    personId = (await server.keyport.teamService.addPerson({ teamId, email, password })).id;
    const a = await server.keyport.clientService.createApp({ teamId, name: 'Notebook', redirectUris: [redirectUri] });
    app = { id: a.client.client_id, secret: a.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('discovery lists the OpenID Connect scopes and claims that work, and no endpoint that is off', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'offline_access', 'api:read']),
    );
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'name', 'email', 'email_verified']));
    expect(discovery.userinfo_endpoint).toBe(`${server.url}/me`);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(discovery.end_session_endpoint).toBeUndefined();
    // form_post needs an inline script keyport's pages do not run; DPoP needs proof checks at every API.
    expect(discovery.response_modes_supported).toEqual(['fragment', 'query']);
    expect(discovery.dpop_signing_alg_values_supported).toBeUndefined();
    const formPost = await fetch(
      `${server.url}/auth?client_id=${app.id}&response_type=code&response_mode=form_post&scope=openid`,
    );
    expect(formPost.status).toBe(400);
    expect(await formPost.text()).toContain('form_post is not supported');
    expect(discovery.pushed_authorization_request_endpoint).toBeUndefined();
  });

  it("openid-client's authorization-code flow: PKCE, state, nonce, a validated ID token, userinfo and a refresh token", async () => {
    const config = await oauth.discovery(new URL(server.url), app.id, undefined, oauth.ClientSecretBasic(app.secret), {
      execute: [oauth.allowInsecureRequests],
    });
    const verifier = oauth.randomPKCECodeVerifier();
    const state = oauth.randomState();
    const nonce = oauth.randomNonce();
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
    });
    const { location } = await personSignsIn(url.href);
    const tokens = await oauth.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: server.url, aud: app.id, sub: String(personId), nonce });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    // The ID token is signed with the key /jwks publishes (openid-client checked the signature).
    const { keys } = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as {
      kid: string;
      alg: string;
    };
    expect(header.alg).toBe('RS256');
    expect(keys.map((k) => k.kid)).toContain(header.kid);

    const info = await oauth.fetchUserInfo(config, tokens.access_token, String(personId));
    expect(info).toMatchObject({ sub: String(personId), email, email_verified: false });
    const refreshed = await oauth.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
  });

  it('an app asking for openid and API scopes gets an ID token and an access token for the API', async () => {
    const config = await oauth.discovery(new URL(server.url), app.id, undefined, oauth.ClientSecretBasic(app.secret), {
      execute: [oauth.allowInsecureRequests],
    });
    const verifier = oauth.randomPKCECodeVerifier();
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid api:read',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    });
    const { location } = await personSignsIn(url.href);
    const tokens = await oauth.authorizationCodeGrant(config, new URL(location), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
    });
    expect(tokens.claims()!.sub).toBe(String(personId));
    expect(tokens.scope).toContain('api:read');
  });

  it("Python authlib's authorization-code flow with PKCE and nonce validates the ID token and reads userinfo", async () => {
    const run = promisify(execFile);
    const start = JSON.parse(
      (await run(PYTHON, [AUTHLIB_CODE, 'authorize', server.url, app.id, app.secret, redirectUri])).stdout,
    ) as Record<string, string>;
    const { location } = await personSignsIn(start.url!);
    const { stdout, stderr } = await run(PYTHON, [
      AUTHLIB_CODE,
      'token',
      server.url,
      app.id,
      app.secret,
      redirectUri,
      location,
      start.code_verifier!,
      start.state!,
      start.nonce!,
    ]);
    expect(stderr).toBe('');
    const out = JSON.parse(stdout) as { id_token_claims: Record<string, unknown>; userinfo: Record<string, unknown> };
    expect(out.id_token_claims).toMatchObject({ sub: String(personId), aud: app.id, nonce: start.nonce });
    expect(out.userinfo).toMatchObject({ sub: String(personId), email });
  });
});
