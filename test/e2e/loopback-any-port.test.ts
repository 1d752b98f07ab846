import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { pkce } from '../helpers/auth-flow.js';

/**
 * Issue 24 item 10, in Chromium: RFC 8252 §7.3, an app registered with
 * `http://127.0.0.1/callback` uses whatever port it listens on at request
 * time; and `prompt=login` (sign in again) ends at the app, not in a loop.
 */
describe('loopback apps on any port (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let callback: Server;
  let callbackUrl: string;
  let app: { id: string; secret: string };
  let webApp: string;
  let graceId: number;
  let otherTeamApp: string;
  const bob = { email: 'bob@b.test', password: 'Builder-22' };
  const grace = { email: 'grace@a.test', password: 'Hopper-Cobol-1' };
  const received: URL[] = [];
  const email = 'ada@a.test';
  const password = 'Analytical-1';

  const authorizeUrl = (
    clientId: string,
    redirectUri: string,
    challenge: string,
    extra: Record<string, string> = {},
  ) => {
    const url = new URL('/auth', server.url);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid api:read',
      state: 's-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
    return url.toString();
  };

  /** Where the page ends up: the app's own page, or a refusal the person would be stuck at. */
  function outcomeOf(page: Page) {
    const refused = new Promise<string>((resolve) =>
      page.on('console', (m) => {
        if (m.type() === 'error' && m.text().includes('Content Security Policy')) resolve(`blocked: ${m.text()}`);
      }),
    );
    const arrived = page
      .waitForSelector('#done, #password', { timeout: 20_000 })
      .then(async () => ((await page.locator('#done').count()) ? 'at the app' : 'asked to sign in again'));
    return Promise.race([arrived, refused]);
  }

  const signIn = async (page: Page, as = { email, password }) => {
    await page.fill('#email', as.email);
    await page.fill('#password', as.password);
    await page.click('button[type=submit]');
  };

  const redeem = (code: string, verifier: string) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: callbackUrl, code_verifier: verifier },
      { authorization: basic(app.id, app.secret) },
    );

  beforeAll(async () => {
    // The app listens on a port of the system's choosing, as a desktop or CLI app does.
    callback = createServer((req, res) => {
      if (req.url?.startsWith('/callback')) received.push(new URL(req.url, 'http://127.0.0.1'));
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>app</title><p id="done">signed in</p>');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callback.address() as { port: number }).port}/callback`;

    const { url } = await DATABASES[0]!.create();
    server = await startServer(url);
    const { teamService, clientService } = server.keyport;
    const teamId = (await teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    await teamService.addPerson({ teamId, email, password });
    graceId = (await teamService.addPerson({ teamId, ...grace })).id;
    // Registered without a port (RFC 8252 §7.3).
    const made = await clientService.createApp({
      teamId,
      name: 'Desktop app',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    app = { id: made.client.client_id, secret: made.clientSecret! };
    webApp = (
      await clientService.createApp({ teamId, name: 'Web app', redirectUris: ['https://app.example/callback'] })
    ).client.client_id;
    const teamB = (await teamService.createTeam({ name: 'B', plan: 'pro' })).id;
    await teamService.addPerson({ teamId: teamB, ...bob });
    otherTeamApp = (
      await clientService.createApp({ teamId: teamB, name: 'B app', redirectUris: ['http://127.0.0.1/callback'] })
    ).client.client_id;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    callback?.close();
  });

  it('RFC 8252 §7.3: an app registered as http://127.0.0.1/callback gets its code on the port it listens on', async () => {
    const { verifier, challenge } = pkce();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl(app.id, callbackUrl, challenge));
    await signIn(page);
    await page.waitForSelector('#approve');
    const csp = (await page.request.get(page.url())).headers()['content-security-policy'];
    const outcome = outcomeOf(page);
    await page.click('#approve');
    expect(await outcome).toBe('at the app');
    await context.close();
    // The consent page's form-action names the port in use.
    expect(csp).toContain(`form-action 'self' http://127.0.0.1 ${new URL(callbackUrl).origin}`);

    const arrived = received.at(-1)!;
    expect(arrived.searchParams.get('state')).toBe('s-1');
    const tokens = await redeem(arrived.searchParams.get('code')!, verifier);
    expect(tokens.status).toBe(200);
    expect(tokens.body.access_token).toEqual(expect.any(String));
  }, 60_000);

  it('an https app may not use another port: /auth refuses it and no page allows it', async () => {
    const res = await fetch(authorizeUrl(webApp, 'https://app.example:8443/callback', pkce().challenge), {
      redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('redirect_uri did not match');
  });

  it('prompt=login: after signing in and pressing Allow, the person reaches the app, and the code redeems', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl(app.id, callbackUrl, challenge, { prompt: 'login', state: 's-2' }));
    await signIn(page);
    await page.waitForSelector('#approve');
    const outcome = outcomeOf(page);
    await page.click('#approve');
    expect(await outcome).toBe('at the app');
    await context.close();

    const arrived = received.at(-1)!;
    expect(arrived.searchParams.get('state')).toBe('s-2');
    const tokens = await redeem(arrived.searchParams.get('code')!, verifier);
    expect(tokens.status).toBe(200);
  }, 60_000);

  it('prompt=login switches accounts: signed in as one person, the app gets a code for the other', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const before = pkce();
    await page.goto(authorizeUrl(app.id, callbackUrl, before.challenge));
    await signIn(page);
    await page.click('#approve');
    await page.waitForSelector('#done');
    const adas = await redeem(received.at(-1)!.searchParams.get('code')!, before.verifier);
    const introspect = async (token: string) =>
      (await postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(app.id, app.secret) }))
        .body;
    expect(await introspect(String(adas.body.access_token))).toMatchObject({ active: true });

    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl(app.id, callbackUrl, challenge, { prompt: 'login', state: 's-3' }));
    await signIn(page, grace);
    await page.waitForSelector('#approve');
    const outcome = outcomeOf(page);
    await page.click('#approve');
    expect(await outcome).toBe('at the app');
    await context.close();

    const arrived = received.at(-1)!;
    expect(arrived.searchParams.get('state')).toBe('s-3');
    const tokens = await redeem(arrived.searchParams.get('code')!, verifier);
    expect(tokens.status).toBe(200);
    const idToken = String(tokens.body.id_token).split('.')[1]!;
    expect(JSON.parse(Buffer.from(idToken, 'base64url').toString()).sub).toBe(String(graceId));
    // Ada's sign-in session ended, as a logout would: her token bound to it (no offline_access) with it.
    expect(await introspect(String(adas.body.access_token))).toEqual({ active: false });
    expect(await introspect(String(tokens.body.access_token))).toMatchObject({ active: true, sub: String(graceId) });
  }, 60_000);

  it("signed in at another team's app, a person signs in as a member at this one and reaches it", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl(otherTeamApp, callbackUrl, pkce().challenge));
    await signIn(page, bob);
    await page.click('#approve');
    await page.waitForSelector('#done');

    // Bob's session is not for this app's team: the sign-in page, where Ada signs in.
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl(app.id, callbackUrl, challenge, { state: 's-4' }));
    await signIn(page);
    await page.waitForSelector('#approve');
    const outcome = outcomeOf(page);
    await page.click('#approve');
    expect(await outcome).toBe('at the app');
    await context.close();

    const arrived = received.at(-1)!;
    expect(arrived.searchParams.get('state')).toBe('s-4');
    expect((await redeem(arrived.searchParams.get('code')!, verifier)).status).toBe(200);
  }, 60_000);
});
