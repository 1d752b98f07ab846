import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// Screenshots go outside the tree: a test run rewrites no tracked file.
const SHOTS = process.env.KEYPORT_SCREENSHOTS ?? join(tmpdir(), 'keyport-screenshots');
const password = 'Dashboard-Pass-1';
/** How many boxes in the page hide content in a sideways scroller (the 1-px header row kept for screen readers aside). */
const OVERFLOWING = `[...document.querySelectorAll('main *')].filter((e) => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible').length`;

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const results = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: unknown[] }>;
    passes: unknown[];
  };
  expect(results.passes.length).toBeGreaterThan(5);
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

/** Issue 24 item 12 in Chromium: every page at 1280 and 375 px, keys as cards on a phone, axe clean. */
describe('the dashboard pages at desktop and phone width (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let teamId: number;
  let used: string;
  let revoked: string;
  let leaked: string;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    const { clientService, db } = server.keyport;
    const a = await clientService.createServiceAccount({ teamId, name: 'nightly-export-to-the-warehouse' });
    used = a.client.client_id;
    await db('o_auth_clients')
      .where({ client_id: used })
      .update({ last_used_at: Math.floor(Date.now() / 1000) - 3600, usage_count: 12_345 });
    await clientService.createServiceAccount({ teamId, name: 'staging', environment: 'dev', expiresInDays: 3 });
    await clientService.createApp({ teamId, name: 'partner app', scopes: [], redirectUris: ['https://p.test/cb'] });
    revoked = (await clientService.createServiceAccount({ teamId, name: 'old' })).client.client_id;
    await clientService.revoke(revoked);
    // A key a secret scanner found in public, in a team that only flags (issue 28 item 4): its badge and audit row.
    const found = await clientService.createServiceAccount({ teamId, name: 'pushed-to-github' });
    leaked = found.client.client_id;
    await server.keyport.leakStore.setAction(teamId, 'flag');
    await server.keyport
      .leakReports(() => undefined)
      .report([{ token: found.clientSecret!, url: 'https://github.com/acme/app/blob/main/.env', source: 'content' }], {
        scanner: 'github',
        ip: null,
      });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signedIn(viewport: { width: number; height: number }) {
    const context = await browser.newContext({ viewport, bypassCSP: true });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.url}/dashboard/signin`);
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#plan-title');
    return { context, page };
  }

  it('at 375 px each key is a card: its status, last use and calls are on screen, with no sideways scroll', async () => {
    const { context, page } = await signedIn({ width: 375, height: 812 });
    const row = page.locator(`[data-client-id="${used}"]`);
    for (const cell of ['.name', '.status', '.last-used', '.calls']) {
      const box = (await row.locator(cell).boundingBox())!;
      expect(box, cell).not.toBeNull();
      expect(box.x, cell).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, cell).toBeLessThanOrEqual(375);
      expect(await row.locator(cell).isVisible(), cell).toBe(true);
    }
    expect((await row.locator('.calls').innerText()).replace(/\s+/g, ' ')).toContain('12345');
    // No box scrolls sideways: neither the page nor the list.
    expect(await page.evaluate(OVERFLOWING)).toBe(0);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    // At 1280 px it is still a table with its header row.
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(await page.locator('#keys thead').isVisible()).toBe(true);
    await context.close();
  }, 60_000);

  for (const width of [1280, 375]) {
    it(`every page at ${width} px: axe finds nothing serious and nothing scrolls sideways`, async () => {
      const { context, page } = await signedIn({ width, height: width === 375 ? 812 : 900 });
      mkdirSync(SHOTS, { recursive: true });
      const pages: Record<string, string> = {
        keys: '/dashboard/keys',
        revoked: '/dashboard/keys?status=revoked',
        'new key': '/dashboard/keys/new',
        'new secret key': '/dashboard/keys/new?kind=service_account',
        'new public-key key': '/dashboard/keys/new?kind=service_account_jwt',
        'new app': '/dashboard/keys/new?kind=app',
        key: `/dashboard/keys/${used}`,
        'revoked key': `/dashboard/keys/${revoked}`,
        'leaked key': `/dashboard/keys/${leaked}`,
        rotate: `/dashboard/keys/${used}/rotate`,
        revoke: `/dashboard/keys/${used}/revoke`,
        members: '/dashboard/members',
        roles: '/dashboard/roles',
        audit: '/dashboard/audit',
      };
      const violations: Record<string, string[]> = {};
      const wide: Record<string, number> = {};
      const look = async (name: string) => {
        await page.screenshot({
          path: join(SHOTS, `dashboard-${name.replace(/ /g, '-')}-${width}.png`),
          fullPage: true,
        });
        const found = await axeViolations(page);
        if (found.length) violations[name] = found;
        const scroll = (await page.evaluate('document.documentElement.scrollWidth')) as number;
        if (scroll > width) wide[name] = scroll;
        // Nor does any box inside hide columns in a sideways scroller.
        const boxes = (await page.evaluate(OVERFLOWING)) as number;
        if (boxes) wide[`${name}: boxes scrolling sideways`] = boxes;
      };
      for (const [name, path] of Object.entries(pages)) {
        const response = await page.goto(`${server.url}${path}`);
        expect(response?.status(), name).toBe(200);
        await look(name);
      }
      // The secret panel, after creating a key through the two steps.
      await page.goto(`${server.url}/dashboard/keys/new`);
      await page.click('#kind-service_account');
      await page.fill('#name', `made at ${width}`);
      await page.click('#create');
      await page.waitForSelector('#new-secret');
      await look('secret panel');
      await context.close();
      const signin = await (await browser.newContext({ viewport: { width, height: 800 }, bypassCSP: true })).newPage();
      await signin.goto(`${server.url}/dashboard/signin`);
      const found = await axeViolations(signin);
      if (found.length) violations['sign in'] = found;
      await signin.screenshot({ path: join(SHOTS, `dashboard-sign-in-${width}.png`), fullPage: true });
      expect(violations).toEqual({});
      expect(wide).toEqual({});
    }, 120_000);
  }
});
