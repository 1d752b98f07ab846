import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const password = 'Restrict-Walk-Pass-1';
const SHOTS = process.env.KEYPORT_SCREENSHOTS ?? join(tmpdir(), 'keyport-screenshots');

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const results = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: unknown[] }>;
  };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

/** Issue 28 items 1 to 3 on the dashboard: a team admin edits a key's allowlist, metadata, roles and permissions, at 375 px. */
describe('the key page edits allowed addresses, metadata, roles and permissions (headless Chromium, 375 px)', () => {
  let server: TestServer;
  let browser: Browser;
  let clientId: string;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url, {
      permissions: { 'projects:read': 'Read projects', 'test_runs:write': 'Report test runs' },
    });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      name: 'ci',
      allowedIps: ['203.0.113.7'],
      meta: { customer_id: 'cus_1' },
    });
    clientId = created.client.client_id;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the current values, saves new ones, and a bad address is refused naming it', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await page.goto(`${server.url}/dashboard/keys/${clientId}`);

    expect(await page.textContent('#allowed-ips')).toBe('203.0.113.7');
    expect(await page.textContent('#meta')).toContain('cus_1');
    expect(await page.inputValue('#edit-allowed-ips')).toBe('203.0.113.7');
    expect(JSON.parse(await page.inputValue('#edit-meta'))).toEqual({ customer_id: 'cus_1' });
    expect(await axeViolations(page)).toEqual([]);
    // Nothing of the form is wider than the phone.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    // By keyboard: from the allowlist to the metadata with Tab.
    await page.focus('#edit-allowed-ips');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('198.51.100.0/24\n2001:db8::/32');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('edit-meta');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('{"customer_id": "cus_2", "tier": "gold"}');
    await Promise.all([page.waitForNavigation(), page.click('#save')]);

    expect(await page.textContent('#allowed-ips')).toBe('198.51.100.0/24, 2001:db8::/32');
    const stored = await server.keyport.clientService.get(clientId);
    expect(stored.allowedIps).toEqual(['198.51.100.0/24', '2001:db8::/32']);
    expect(stored.meta).toEqual({ customer_id: 'cus_2', tier: 'gold' });

    await page.fill('#edit-allowed-ips', '300.1.1.1');
    const [answer] = await Promise.all([page.waitForNavigation(), page.click('#save')]);
    expect(answer?.status()).toBe(400);
    expect(await page.textContent('main')).toContain('"300.1.1.1" is not an IPv4 or IPv6 address or CIDR range');
    expect((await server.keyport.clientService.get(clientId)).allowedIps).toEqual(['198.51.100.0/24', '2001:db8::/32']);
    await context.close();
  });

  it('makes a team role by keyboard, gives it to the key with a permission of its own; the page says so', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', password);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);

    await Promise.all([page.waitForNavigation(), page.click('nav a[href="/dashboard/roles"]')]);
    expect(await page.textContent('#role-read_only')).toContain('*:read');
    expect(await axeViolations(page)).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.focus('#new-role-name');
    await page.keyboard.type('Reporter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('new-role-permissions');
    await page.keyboard.type('test_runs:write');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('create-role');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.textContent('#roles')).toContain('Reporter');
    const role = (await server.keyport.roles.list(teamId)).find((r) => r.name === 'Reporter')!;
    expect(role.permissions).toEqual(['test_runs:write']);
    expect(await axeViolations(page)).toEqual([]);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'dashboard-roles-375.png'), fullPage: true });

    await page.goto(`${server.url}/dashboard/keys/${clientId}`);
    expect(await page.textContent('#roles')).toBe('—');
    await page.check(`#key-roles input[value="${role.id}"]`);
    await page.fill('#edit-permissions', 'projects:read');
    await Promise.all([page.waitForNavigation(), page.click('#save')]);
    expect(await page.textContent('#roles')).toBe('Reporter');
    expect(await page.textContent('#permissions')).toBe('projects:read');
    expect(await page.isChecked(`#key-roles input[value="${role.id}"]`)).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    const stored = await server.keyport.clientService.get(clientId);
    expect(stored.roles).toEqual([role.id]);
    expect(stored.permissions).toEqual(['projects:read']);
    await page.screenshot({ path: join(SHOTS, 'dashboard-key-roles-375.png'), fullPage: true });
    await context.close();
  });
});
