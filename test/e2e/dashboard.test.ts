import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// Screenshots go outside the tree (KEYPORT_SCREENSHOTS, or a temp folder): a test run rewrites no tracked file.
// The README's picture (docs/dashboard-keys.png) is updated on purpose by copying one from there.
const SHOTS = process.env.KEYPORT_SCREENSHOTS ?? join(tmpdir(), 'keyport-screenshots');
const password = 'Dashboard-Pass-1';

/** axe-core in the page: the serious and critical violations (none allowed). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const results = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: unknown[] }>;
    passes: unknown[];
  };
  // axe ran and checked something: a page it could not read would pass nothing.
  expect(results.passes.length).toBeGreaterThan(5);
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

/** Issue 16 as a person uses it: Chromium, the keyboard, a phone-width screen, axe-core on every page. */
describe('the team dashboard in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url, { usage_flush_seconds: 0.2 });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    await server.keyport.teamService.addPerson({ teamId, email: 'bob@acme.test', password, role: 'member' });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signedIn(email: string, viewport = { width: 1200, height: 900 }) {
    // axe-core is injected as a script: the test's own context may bypass keyport's CSP, pages never do.
    const context = await browser.newContext({ viewport, bypassCSP: true });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#plan-title');
    return { context, page };
  }

  it('an admin creates a key, uses it, sees its last use, rotates it with a grace period and revokes it', async () => {
    const { context, page } = await signedIn('ada@acme.test');
    const violations: Record<string, string[]> = {};
    const check = async (name: string) => {
      const found = await axeViolations(page);
      if (found.length) violations[name] = found;
    };
    await check('keys');

    await page.click('#new-key');
    await page.waitForSelector('#kind-service_account');
    await check('new key: the kind');
    await page.click('#kind-service_account');
    await page.waitForSelector('#create');
    await check('new key');
    await page.fill('#name', 'CI/CD');
    await page.selectOption('#expiry', '90');
    await page.click('#create');
    await page.waitForSelector('#new-secret');
    await check('secret panel');
    const secret = (await page.textContent('#new-secret'))!.trim();
    const clientId = (await page.textContent('#new-client-id'))!.trim();
    expect(secret).toMatch(/^keyport_sk_prod_/);

    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, secret) },
    );
    expect(token.status).toBe(200);
    // Reloading never shows the secret again.
    await page.reload();
    expect(await page.locator('#new-secret').count()).toBe(0);

    // Its last use shows in the list (usage is written within a fraction of a second here).
    let lastUsed = '—';
    for (let i = 0; i < 50 && lastUsed === '—'; i++) {
      await page.goto(`${server.url}/dashboard/keys?q=CI`);
      lastUsed = (await page.textContent(`tr[data-client-id="${clientId}"] .last-used`))!.trim();
    }
    expect(lastUsed).not.toBe('—');

    await page.click(`tr[data-client-id="${clientId}"] a`);
    await page.waitForSelector('#rotate');
    await check('key');
    await page.click('#rotate');
    await page.waitForSelector('#confirm-rotate');
    await check('rotate');
    await page.selectOption('#grace', '3600');
    await page.click('#confirm-rotate');
    await page.waitForSelector('#new-secret');
    const rotated = (await page.textContent('#new-secret'))!.trim();
    expect(rotated).not.toBe(secret);
    for (const s of [secret, rotated])
      expect(
        (
          await postForm(
            `${server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(clientId, s) },
          )
        ).status,
      ).toBe(200);

    await page.goto(`${server.url}/dashboard/keys/${clientId}`);
    await page.click('#revoke');
    await page.waitForSelector('#confirm-revoke');
    await check('revoke');
    expect(await page.textContent('#revoke-name')).toBe('CI/CD');
    await page.click('#confirm-revoke');
    await page.waitForSelector('#status');
    expect(await page.textContent('#status')).toBe('revoked');
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(clientId, rotated) },
        )
      ).status,
    ).toBe(401);

    await page.goto(`${server.url}/dashboard/members`);
    await check('members');
    expect(await page.textContent('#members')).toContain('service account');
    await page.goto(`${server.url}/dashboard/audit`);
    await check('audit');
    expect(await page.textContent('main')).toContain('revoked CI/CD');
    await context.close();

    const signin = await (await browser.newContext({ bypassCSP: true })).newPage();
    await signin.goto(`${server.url}/dashboard/signin`);
    const found = await axeViolations(signin);
    if (found.length) violations['sign in'] = found;
    expect(violations).toEqual({});
  }, 90_000);

  it('works with the keyboard alone, and at 375 px wide (the screenshot in the README)', async () => {
    await server.keyport.clientService.createServiceAccount({
      teamId,
      name: 'nightly-export',
      scopes: ['api:read'],
      environment: 'prod',
    });
    await server.keyport.clientService.createServiceAccount({
      teamId,
      name: 'staging',
      scopes: ['api:read', 'api:write'],
      environment: 'dev',
    });
    const { context, page } = await signedIn('ada@acme.test', { width: 375, height: 812 });
    // The keys page does not scroll sideways (each key is a card at this width).
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'dashboard-keys.png'), fullPage: true });

    // Tab to "Generate new key" and press Enter: no mouse.
    let focused = '';
    for (let i = 0; i < 15 && focused !== 'new-key'; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate("document.activeElement ? document.activeElement.id : ''")) as string;
    }
    expect(focused).toBe('new-key');
    await page.keyboard.press('Enter');
    // The first step: the kind, a link to reach with Tab.
    await page.waitForSelector('#kind-service_account');
    for (let i = 0; i < 15 && focused !== 'kind-service_account'; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate("document.activeElement ? document.activeElement.id : ''")) as string;
    }
    expect(focused).toBe('kind-service_account');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#create');
    await page.focus('#name');
    await page.keyboard.type('Typed by keyboard');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#new-secret');
    await context.close();
  }, 60_000);

  it('a member sees the keys without the buttons', async () => {
    const { context, page } = await signedIn('bob@acme.test');
    expect(await page.locator('#new-key').count()).toBe(0);
    const response = await page.goto(`${server.url}/dashboard/keys/new`);
    expect(response?.status()).toBe(403);
    await context.close();
  }, 60_000);
});
