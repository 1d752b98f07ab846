import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { OOB, pkce } from '../helpers/auth-flow.js';

/** Issue 13, items 1 and 12, as a person's browser sees them. */
describe('apps in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let callback: Server;
  let callbackUrl: string;
  const received: URL[] = [];
  let loopbackApp: { id: string; secret: string };
  let appA: string;
  let appB: string;

  const authorizeUrl = (clientId: string, redirectUri: string, challenge: string) => {
    const url = new URL('/auth', server.url);
    for (const [k, v] of Object.entries({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'api:read',
      state: 's-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(k, v);
    }
    return url.toString();
  };

  beforeAll(async () => {
    // The app's loopback redirect (RFC 8252 §7.3): a real listener that records what it receives.
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
    const teamA = (await teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    const teamB = (await teamService.createTeam({ name: 'B', plan: 'pro' })).id;
    await teamService.addPerson({ teamId: teamA, email: 'ada@a.test', password: 'Analytical-1' });
    await teamService.addPerson({ teamId: teamB, email: 'bob@b.test', password: 'Builder-22' });
    const loopback = await clientService.createApp({ teamId: teamA, name: 'Desktop app', redirectUris: [callbackUrl] });
    loopbackApp = { id: loopback.client.client_id, secret: loopback.clientSecret! };
    appA = (await clientService.createApp({ teamId: teamA, name: 'Reports of A' })).client.client_id;
    appB = (await clientService.createApp({ teamId: teamB, name: 'Reports of B' })).client.client_id;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    callback?.close();
  });

  it('a loopback app receives its code: the consent form may redirect to it', async () => {
    const { verifier, challenge } = pkce();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl(loopbackApp.id, callbackUrl, challenge));
    await page.fill('#email', 'ada@a.test');
    await page.fill('#password', 'Analytical-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('#approve');
    await page.click('#approve');
    await page.waitForSelector('#done');
    await context.close();

    const arrived = received.at(-1)!;
    expect(arrived.pathname).toBe('/callback');
    expect(arrived.searchParams.get('state')).toBe('s-1');
    const tokens = await postForm(
      `${server.url}/token`,
      {
        grant_type: 'authorization_code',
        code: arrived.searchParams.get('code')!,
        redirect_uri: callbackUrl,
        code_verifier: verifier,
      },
      { authorization: basic(loopbackApp.id, loopbackApp.secret) },
    );
    expect(tokens.status).toBe(200);
  }, 60_000);

  it("a person signed in through their team's app meets a sign-in page, not a consent page, at another team's app", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl(appB, OOB, pkce().challenge));
    await page.fill('#email', 'bob@b.test');
    await page.fill('#password', 'Builder-22');
    await page.click('button[type=submit]');
    await page.click('#approve');
    await page.waitForSelector('#code');

    await page.goto(authorizeUrl(appA, OOB, pkce().challenge));
    await page.waitForSelector('#password');
    expect(await page.locator('#approve').count()).toBe(0);
    await page.fill('#email', 'bob@b.test');
    await page.fill('#password', 'Builder-22');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    expect(await page.locator('#code').count()).toBe(0);
    await context.close();
  }, 60_000);
});
