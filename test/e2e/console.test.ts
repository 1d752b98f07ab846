import { createRequire } from 'node:module';
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
});
