import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const password = 'Account-Walk-Pass-1';
const newPassword = 'Account-Walk-Pass-2';

/** axe-core in the page: the serious and critical violations (none allowed). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const results = (await page.evaluate('axe.run()')) as {
    violations: Array<{ id: string; impact: string; nodes: unknown[] }>;
  };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

/** Issue 23 item 15 (c) as a person does it: Chromium and the keyboard only. */
describe('the account page in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url);
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(pw: string) {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', pw);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    return { context, page };
  }

  it('a person changes their password by keyboard, the other browser is signed out, then signs out everywhere', async () => {
    const other = await signIn(password);
    const { context, page } = await signIn(password);
    await page.click('nav a[href="/dashboard/account"]');
    await page.waitForSelector('#current_password');
    expect(await axeViolations(page)).toEqual([]);

    // Tab from the current password to the new one and submit with Enter.
    await page.focus('#current_password');
    await page.keyboard.type(password);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('new_password');
    await page.keyboard.type(newPassword);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#message');
    expect(await page.textContent('#message')).toContain('Your password was changed');

    await other.page.goto(`${server.url}/dashboard/keys`);
    expect(new URL(other.page.url()).pathname).toBe('/dashboard/signin');

    // Sign out everywhere, reached by Tab and pressed with Enter.
    const button = page.getByRole('button', { name: 'Sign out everywhere' });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/dashboard\/signin$/);
    await page.goto(`${server.url}/dashboard/keys`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/signin');

    const again = await signIn(newPassword);
    expect(new URL(again.page.url()).pathname).toBe('/dashboard/keys');
    for (const c of [context, other.context, again.context]) await c.close();
  });
});
