import { readFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';

const OPERATOR = 's'.repeat(40);

/** Issue 17: a key handed over by a one-time link, as a customer opens it. */
describe('one-time secret links in a real browser (headless Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  let dbFile: string;
  let env: NodeJS.ProcessEnv;
  let teamId: number;

  beforeAll(async () => {
    const { url } = await DATABASES[0]!.create();
    dbFile = url.slice('sqlite:'.length);
    server = await startServer(url, { admin_token: OPERATOR, expired_rows_sweep_seconds: 1 });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Bugfender customer', plan: 'pro' })).id;
    env = { PATH: process.env.PATH, DATABASE_URL: url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the runbook step: serviceaccountadd -share prints a link; a preview does not burn it; Reveal shows the key once; it gets a token; the second open is 410', async () => {
    const created = await runCli(
      env,
      'serviceaccountadd',
      '-team',
      String(teamId),
      '-name',
      'handed-over',
      '-share',
      '-json',
    );
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout) as {
      client_id: string;
      share_url: string;
      client_secret?: string;
      share: { state: string };
    };
    expect(out.client_secret).toBeUndefined();
    expect(out.share.state).toBe('pending');
    const link = new URL(out.share_url);
    expect(link.origin).toBe(server.url);
    expect(link.pathname).toMatch(/^\/s\/[\w-]{22}$/);
    const fragmentKey = link.hash.slice(1);
    expect(fragmentKey).toMatch(/^[\w-]{43}$/);

    // A chat or mail preview fetches the URL (never the fragment): the page reveals nothing and the link survives.
    const preview = await fetch(`${server.url}${link.pathname}`);
    expect(preview.status).toBe(200);
    const previewHtml = await preview.text();
    expect(previewHtml).not.toMatch(/_sk_/);
    expect(preview.headers.get('cache-control')).toBe('no-store');
    expect(preview.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = preview.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(previewHtml).not.toMatch(/<script>(?!<\/script>)/);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(out.share_url);
    expect(await page.content()).not.toMatch(/_sk_/);
    expect(await page.isVisible('#secret')).toBe(false);
    await page.click('#reveal');
    await page.waitForSelector('#secret', { state: 'visible' });
    const secret = (await page.textContent('#secret'))!.trim();
    expect(secret).toMatch(/^keyport_sk_prod_/);
    // The key is gone from the address bar once used.
    expect(new URL(page.url()).hash).toBe('');

    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(out.client_id, secret) },
    );
    expect(token.status).toBe(200);

    await page.goto('about:blank');
    await page.goto(out.share_url);
    expect(await page.textContent('#gone')).toContain('already used or has expired');
    const again = await fetch(`${server.url}${link.pathname}`);
    expect(again.status).toBe(410);
    const reveal = await fetch(`${server.url}${link.pathname}/reveal`, {
      method: 'POST',
      headers: { 'x-keyport-reveal': '1' },
    });
    expect(reveal.status).toBe(410);
    await context.close();

    // The database holds neither the secret nor the fragment's key, in any file of it.
    await server.keyport.db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
    for (const file of [dbFile, `${dbFile}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
      expect(bytes.includes(Buffer.from(fragmentKey)), file).toBe(false);
    }

    // The read receipt: an audit event (when, from where), and the link's state in clientlist.
    const events = (await server.keyport
      .db('audit_events')
      .where({ client_id: out.client_id, action: 'share.opened' })) as Array<{ ip: string }>;
    expect(events).toHaveLength(1);
    expect(events[0]!.ip).toMatch(/127\.0\.0\.1/);
    const listed = JSON.parse((await runCli(env, 'clientlist', '-team', String(teamId), '-json')).stdout) as {
      data: Array<{ client_id: string; share?: { state: string; opened_at: string } }>;
    };
    expect(listed.data.find((c) => c.client_id === out.client_id)?.share).toMatchObject({
      state: 'opened',
      opened_at: expect.any(String),
    });
  }, 60_000);

  it('an unknown id, a used link and an expired one look the same: 410', async () => {
    const unknown = await fetch(`${server.url}/s/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(unknown.status).toBe(410);
    const text = await unknown.text();
    const made = await fetch(`${server.url}/api/teams/${teamId}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'service_account', name: 'expiring', share: { ttl_seconds: 60 } }),
    });
    const body = (await made.json()) as { share_url: string; client_id: string };
    await server.keyport.db('share_links').where({ client_id: body.client_id }).update({ expires_at: 1 });
    const expired = await fetch(body.share_url.split('#')[0]!);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toBe(text);
  });

  it('revoke_if_unopened: a key whose link expires unopened is revoked, with an audit event saying why', async () => {
    const made = await fetch(`${server.url}/api/teams/${teamId}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'service_account',
        name: 'undelivered',
        share: { ttl_seconds: 60, revoke_if_unopened: true },
      }),
    });
    expect(made.status).toBe(201);
    const body = (await made.json()) as { share_url: string; client_id: string; client_secret?: string };
    expect(body.client_secret).toBeUndefined();
    await server.keyport
      .db('share_links')
      .where({ client_id: body.client_id })
      .update({ expires_at: Math.floor(Date.now() / 1000) - 1 });
    // The sweep runs every second here: wait for its effect (bounded).
    let row: { revoked_at: number | null } | undefined;
    for (let i = 0; i < 100; i++) {
      row = await server.keyport.db('o_auth_clients').where({ client_id: body.client_id }).first('revoked_at');
      if (row?.revoked_at) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(row?.revoked_at).toEqual(expect.any(Number));
    const events = await server.keyport
      .db('audit_events')
      .where({ client_id: body.client_id, action: 'client.revoke' });
    expect(JSON.parse(events[0].details)).toEqual({ reason: 'its one-time link expired unopened' });
    const view = await fetch(`${server.url}/api/teams/${teamId}/clients/${body.client_id}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(((await view.json()) as { share: { state: string } }).share.state).toBe('expired');
  });

  it('regenerating a secret can hand it over by link too', async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, name: 'rotated' });
    const res = await fetch(`${server.url}/api/teams/${teamId}/clients/${created.client.client_id}/secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ share: {} }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { share_url?: string; client_secret?: string };
    expect(body.share_url).toMatch(/\/s\/[\w-]{22}#[\w-]{43}$/);
    expect(body.client_secret).toBeUndefined();
    const tooLong = await fetch(`${server.url}/api/teams/${teamId}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'service_account', share: { ttl_seconds: 8 * 86_400 } }),
    });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { message: string }).message).toMatch(/share.ttl_seconds/);
  });
});
