import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { importPKCS8, SignJWT } from 'jose';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const PASSWORD = 'Console-Walk-1';
const ADMIN = 'owner@customer.test';

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const results = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: unknown[] }>;
  };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

/** Issue 29 in Chromium: a support person's whole walk, at 1280 and 375 px, axe clean on every page. */
describe('support console in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url, { plans: { pro: { api_access: true, max_keys: 100 } } });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Customer Co', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: ADMIN, password: PASSWORD, role: 'admin' });
    await server.keyport.staff.add({ email: 'walker@keyport.test', role: 'support', password: PASSWORD });
    await server.keyport.staff.add({ email: 'keysmith@keyport.test', role: 'support', password: PASSWORD });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sign in with TOTP, find the team by an admin email, create a key, the customer opens its link, revoke, see the audit lines', async () => {
    const violations: Record<string, string[]> = {};
    const check = async (name: string, page: Page) => {
      const found = await axeViolations(page);
      if (found.length) violations[name] = found;
      const scroll = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      const width = page.viewportSize()!.width;
      if (scroll > width) violations[`${name} at ${width}`] = [`scrolls sideways: ${scroll}`];
    };
    const context = await browser.newContext({ viewport: { width: 375, height: 812 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/signin');
    await check('sign-in', page);
    await page.fill('#email', 'walker@keyport.test');
    await page.fill('#password', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#totp-qr');
    // The QR code is an image the server drew, and it is shown (it loaded under the page's CSP).
    expect(await page.evaluate('document.querySelector("#totp-qr").naturalWidth')).toBeGreaterThan(0);
    await check('enrolment', page);
    const secret = (await page.textContent('#totp-secret'))!.trim();
    await page.fill('#code', authenticator.generate(secret));
    await page.keyboard.press('Enter');
    await page.waitForSelector('#recovery-codes');
    await check('recovery codes', page);
    await page.click('#continue');

    await page.fill('#q', ADMIN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#results');
    await check('search', page);
    await page.click(`a[href="/console/teams/${teamId}"]`);
    await page.waitForSelector('#new-key');
    await check('team', page);
    await page.fill('#key-name', 'ci from support');
    await page.fill('#requested-by', ADMIN);
    await page.fill('#key-reason', 'ticket 99: CI key');
    await page.click('#create-key');
    await page.waitForSelector('#share-url');
    const link = (await page.textContent('#share-url'))!.trim();
    const clientId = (await page.textContent('#new-client-id'))!.trim();
    expect(await page.content()).not.toMatch(/_sk_prod_[\w-]{20,}/);

    // The customer opens the link in their own browser.
    const customer = await (await browser.newContext()).newPage();
    await customer.goto(link);
    await customer.click('#reveal');
    await customer.waitForSelector('#secret', { state: 'visible' });
    const key = (await customer.textContent('#secret'))!.trim();
    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, key) },
    );
    expect(token.status).toBe(200);

    await page.click('#back-to-team');
    await page.click(`details:has(#revoke-${clientId}) summary`);
    await page.fill(`details:has(#revoke-${clientId}) input[name=reason]`, 'customer asked to stop it');
    await page.click(`#revoke-${clientId}`);
    await page.waitForSelector('#events');
    const events = (await page.textContent('#events'))!;
    expect(events).toContain('keyport support (walker@keyport.test)');
    expect(events).toContain('client.revoke');
    expect(events).toContain('customer asked to stop it');
    expect(events).toContain('ticket 99: CI key');
    const after = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, key) },
    );
    expect(after.status).toBe(401);

    await page.goto(`${server.url}/console/health`);
    await check('health', page);
    await page.setViewportSize({ width: 1280, height: 900 });
    for (const path of ['/console/teams', `/console/teams/${teamId}`, '/console/health']) {
      await page.goto(`${server.url}${path}`);
      await check(`${path} at 1280`, page);
    }

    // The team's own audit page says support made the change.
    const dashboard = await (await browser.newContext()).newPage();
    await dashboard.goto(`${server.url}/dashboard/signin`);
    await dashboard.fill('#email', ADMIN);
    await dashboard.fill('#password', PASSWORD);
    await dashboard.keyboard.press('Enter');
    await dashboard.waitForURL(/\/dashboard\/keys/);
    await dashboard.goto(`${server.url}/dashboard/audit`);
    expect(await dashboard.textContent('main')).toContain('keyport support (walker@keyport.test)');
    expect(violations).toEqual({});
    await context.close();
  }, 120_000);

  it("creates a JWT service account from the customer's uploaded key file and an oob app; the customer uses each, staff never see a secret", async () => {
    // keyport's own CSP in force (no bypass): the file input is filled by keyport's script, not inline code.
    const context = await browser.newContext({ viewport: { width: 375, height: 812 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/console/signin`);
    await page.fill('#email', 'keysmith@keyport.test');
    await page.fill('#password', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#totp-secret');
    const totp = (await page.textContent('#totp-secret'))!.trim();
    await page.fill('#code', authenticator.generate(totp));
    await page.keyboard.press('Enter');
    await page.click('#continue');
    const staffPages: string[] = [];

    // (a) A JWT service account: the customer's public key chosen as a file.
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicPem = String(pair.publicKey.export({ type: 'spki', format: 'pem' }));
    await page.goto(`${server.url}/console/teams/${teamId}`);
    await page.selectOption('#kind', 'service_account_jwt');
    await page.setInputFiles('#public-key-file', {
      name: 'customer.pem',
      mimeType: 'application/x-pem-file',
      buffer: Buffer.from(publicPem),
    });
    await page.waitForFunction('document.querySelector("#public-key").value.length > 0');
    expect(await page.inputValue('#public-key')).toBe(publicPem);
    await page.fill('#key-name', 'signer from support');
    await page.fill('#requested-by', ADMIN);
    await page.fill('#key-reason', 'ticket 100: JWT key');
    await page.click('#create-key');
    await page.waitForSelector('#new-client-id');
    const jwtClient = (await page.textContent('#new-client-id'))!.trim();
    expect(await page.locator('#share-url').count()).toBe(0);
    staffPages.push(await page.content());
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ iss: jwtClient, sub: jwtClient, aud: server.url, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(await importPKCS8(String(pair.privateKey.export({ type: 'pkcs8', format: 'pem' })), 'ES256'));
    const signed = await postForm(`${server.url}/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(signed.status).toBe(200);

    // (b) An OAuth app with the oob redirect: its secret goes out as a one-time link.
    await page.click('#back-to-team');
    await page.selectOption('#kind', 'app');
    await page.fill('#key-name', 'desktop app from support');
    await page.fill('#requested-by', ADMIN);
    await page.fill('#redirect-uris', 'urn:ietf:wg:oauth:2.0:oob');
    await page.fill('#key-reason', 'ticket 101: desktop app');
    await page.click('#create-key');
    await page.waitForSelector('#share-url');
    const link = (await page.textContent('#share-url'))!.trim();
    const appClient = (await page.textContent('#new-client-id'))!.trim();
    staffPages.push(await page.content());
    const customer = await (await browser.newContext()).newPage();
    await customer.goto(link);
    await customer.click('#reveal');
    await customer.waitForSelector('#secret', { state: 'visible' });
    const appSecret = (await customer.textContent('#secret'))!.trim();
    // The app's secret authenticates it (RFC 7009: a revocation of an unknown token by a known client is 200).
    const authenticated = await postForm(
      `${server.url}/token/revocation`,
      { token: 'not-a-token' },
      { authorization: basic(appClient, appSecret) },
    );
    expect(authenticated.status).toBe(200);
    await customer.goto('about:blank');
    await customer.goto(link);
    expect(await customer.textContent('#gone')).toContain('already used or has expired');

    // Nothing staff saw holds the secret: the result pages, the team page, the audit lines.
    await page.goto(`${server.url}/console/teams/${teamId}`);
    staffPages.push(await page.content());
    for (const seen of staffPages) expect(seen).not.toContain(appSecret);
    const events = (await page.textContent('#events'))!;
    expect(events).toContain('keyport support (keysmith@keyport.test)');
    expect(events).toContain('ticket 100: JWT key');
    expect(events).toContain('ticket 101: desktop app');
    await context.close();
  }, 120_000);
});
