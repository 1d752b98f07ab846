import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const password = 'Dashboard-Hooks-2';
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

/** Reloads until `selector` is on the page: the delivery job works beside the page, not for it. */
async function reloadUntil(page: Page, selector: string) {
  while (!(await page.locator(selector).count())) await page.reload();
}

/** Issue 26 item 4 as a team admin uses it: Chromium, the keyboard, 375 px, axe, a real receiver. */
describe('the webhook pages in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: WebhookReceiver;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    server = await startServer(url, { webhook_allow_private_addresses: true, webhook_poll_ms: 20 });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    receiver = await startWebhookReceiver();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  it('an admin registers an endpoint by keyboard, sees a delivery arrive in its log, and sends it again', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    const violations: Record<string, string[]> = {};
    const wide: Record<string, number> = {};
    const check = async (name: string, width: number) => {
      const found = await axeViolations(page);
      if (found.length) violations[`${name} at ${width}`] = found;
      const scroll = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      if (scroll > width) wide[`${name} at ${width}`] = scroll;
      const boxes = (await page.evaluate(OVERFLOWING)) as number;
      if (boxes) wide[`${name} at ${width}: boxes scrolling sideways`] = boxes;
    };

    await page.goto(`${server.url}/dashboard`);
    await page.fill('#email', 'ada@acme.test');
    await page.fill('#password', password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#plan-title');

    // The header's Webhooks link, followed with the keyboard.
    await page.focus('header a[href="/dashboard/webhooks"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#register');
    expect(await page.locator('#no-endpoints').isVisible()).toBe(true);
    await check('webhooks, none yet', 1280);

    // The form by keyboard: the URL, then Tab to the event boxes and Space to tick two.
    await page.focus('#url');
    await page.keyboard.type(receiver.url);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space'); // key.created
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space'); // key.revoked
    expect(await page.locator('#event-0').isChecked()).toBe(true);
    expect(await page.locator('#event-2').isChecked()).toBe(true);
    await page.focus('#register');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#new-secret');
    const secret = (await page.locator('#new-secret').innerText()).trim();
    expect(secret).toMatch(/^whsec_/);
    receiver.state.secret = secret;
    await check('secret panel', 1280);

    // A key is created: the receiver gets key.created, signed with that secret.
    const key = await server.keyport.clientService.createServiceAccount({ teamId, name: 'billing' });
    const [first] = await receiver.until((r) => r.length >= 1);
    expect(first!.body).toMatchObject({ type: 'key.created', data: { client_id: key.client.client_id } });
    expect(receiver.refused).toEqual([]);

    await page.click('#done');
    await page.waitForSelector('#log-title');
    const row = `tr[data-delivery-id="${first!.id}"]`;
    await reloadUntil(page, `${row} .badge.delivered`);
    expect((await page.locator(`${row} .attempts`).innerText()).trim()).toBe('1');
    expect(await page.locator(`${row} .latency`).innerText()).toMatch(/^\d+ ms$/);
    expect((await page.locator(`${row} .answer`).innerText()).trim()).toBe('204');
    await check('endpoint and its log', 1280);

    // At 375 px each delivery is a card, its send-again button on screen, and nothing scrolls sideways.
    await page.setViewportSize({ width: 375, height: 812 });
    await check('endpoint and its log', 375);
    const button = page.locator(`${row} button.send-again`);
    const box = (await button.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(375);

    // Send again, by keyboard: the same event arrives a second time, with the same webhook-id and body.
    await button.focus();
    await page.keyboard.press('Enter');
    const again = await receiver.until((r) => r.length >= 2);
    expect(again[1]!.id).toBe(first!.id);
    expect(again[1]!.raw).toBe(first!.raw);
    await page.waitForSelector('#log-title');
    // The attempt is counted when it is taken, and the row says delivered once it is answered.
    const settled = async () =>
      (await page.locator(`${row} .attempts`).innerText()).trim() === '2' &&
      (await page.locator(`${row} .badge.delivered`).count()) === 1;
    while (!(await settled())) await page.reload();

    await page.goto(`${server.url}/dashboard/webhooks`);
    await check('webhooks list', 375);
    await page.setViewportSize({ width: 1280, height: 900 });
    await check('webhooks list', 1280);
    expect(violations).toEqual({});
    expect(wide).toEqual({});
    await context.close();
  }, 120_000);
});
