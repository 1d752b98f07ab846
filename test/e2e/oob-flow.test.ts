import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { OOB, pkce } from '../helpers/auth-flow.js';

describe('the oob flow in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let app: { id: string; secret: string };
  let rs: { id: string; secret: string };
  let personId: number;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url);
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    personId = (await teamService.addPerson({ teamId, email: 'ada@acme.test', password: 'Analytical-1' })).id;
    const created = await clientService.createApp({ teamId, name: 'CLI tool' });
    app = { id: created.client.client_id, secret: created.clientSecret! };
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in, approves, reads the code from the oob page, exchanges it and introspects the token', async () => {
    const { verifier, challenge } = pkce();
    const authorize = new URL('/auth', server.url);
    for (const [k, v] of Object.entries({
      client_id: app.id,
      response_type: 'code',
      redirect_uri: OOB,
      scope: 'api:read',
      state: 'from-the-app',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      authorize.searchParams.set(k, v);
    }
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();

    await page.goto(authorize.toString());
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', 'Analytical-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('#approve');
    expect(await page.textContent('main')).toContain('CLI tool');
    await page.click('#approve');
    await page.waitForSelector('#code');

    const code = (await page.textContent('#code'))!.trim();
    // The app's state is never shown on keyport's page (any caller's text on keyport's origin).
    expect(await page.locator('#state').count()).toBe(0);
    expect(await page.textContent('main')).not.toContain('from-the-app');
    expect(await page.isVisible('#copy')).toBe(true);
    await context.close();

    const tokens = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.id, app.secret) },
    );
    expect(tokens.status).toBe(200);
    const intro = await postForm(
      `${server.url}/token/introspection`,
      { token: tokens.body.access_token as string },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(intro.body).toMatchObject({ active: true, sub: String(personId), team_id: teamId, client_id: app.id });
  }, 60_000);
});
