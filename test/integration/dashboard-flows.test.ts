import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser } from '../helpers/auth-flow.js';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const nonceOf = (page: string) => /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '';
/** The names of the form controls inside the page's form that posts to `action`. */
const fieldNamesOf = (page: string, action: string) => {
  const form = new RegExp(`<form[^>]*action="${action}"[^>]*>([\\s\\S]*?)</form>`).exec(page)?.[1] ?? '';
  return new Set([...form.matchAll(/<(?:input|select|textarea)[^>]*\bname="([^"]+)"/g)].map((m) => m[1]!));
};
const rowIdsOf = (page: string) => [...page.matchAll(/data-client-id="([^"]+)"/g)].map((m) => m[1]!);
const text = (page: string) =>
  page
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** Issue 24 item 12 over HTTP, as a browser without a script meets the pages. */
describe.each(DATABASES)('the dashboard as Stripe and Unkey users expect it, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  const password = 'Dashboard-Pass-1';

  async function signIn(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    await browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password } });
    return browser;
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a revoked key is not among the keys in use: it is listed under ?status=revoked', async () => {
    const kept = await server.keyport.clientService.createServiceAccount({ teamId, name: 'kept' });
    const gone = await server.keyport.clientService.createServiceAccount({ teamId, name: 'gone' });
    await server.keyport.clientService.revoke(gone.client.client_id);
    const browser = await signIn('ada@acme.test');

    const list = await browser.request('/dashboard/keys');
    expect(list.status).toBe(200);
    expect(rowIdsOf(list.text)).toContain(kept.client.client_id);
    expect(rowIdsOf(list.text)).not.toContain(gone.client.client_id);
    // The tab to the revoked keys is a plain link, with its count.
    expect(list.text).toMatch(/<a href="\/dashboard\/keys\?status=revoked"[^>]*>Revoked \(1\)<\/a>/);

    const revoked = await browser.request('/dashboard/keys?status=revoked');
    expect(revoked.status).toBe(200);
    expect(rowIdsOf(revoked.text)).toEqual([gone.client.client_id]);
    expect(revoked.text).toMatch(/href="\/dashboard\/keys\?status=revoked" aria-current="page"/);
    // ?status=all still shows both.
    const all = rowIdsOf((await browser.request('/dashboard/keys?status=all')).text);
    expect(all).toEqual(expect.arrayContaining([kept.client.client_id, gone.client.client_id]));
  });

  it('the new-key page asks for the kind first; each kind gets its own fields only', async () => {
    const browser = await signIn('ada@acme.test');
    const chooser = await browser.request('/dashboard/keys/new');
    expect(chooser.status).toBe(200);
    // A first step with a link per kind, and no form fields of any kind yet.
    for (const kind of ['service_account', 'service_account_jwt', 'app'])
      expect(chooser.text).toContain(`href="/dashboard/keys/new?kind=${kind}"`);
    expect(fieldNamesOf(chooser.text, '/dashboard/keys').size).toBe(0);

    const secret = fieldNamesOf(
      (await browser.request('/dashboard/keys/new?kind=service_account')).text,
      '/dashboard/keys',
    );
    const jwt = fieldNamesOf(
      (await browser.request('/dashboard/keys/new?kind=service_account_jwt')).text,
      '/dashboard/keys',
    );
    const app = fieldNamesOf((await browser.request('/dashboard/keys/new?kind=app')).text, '/dashboard/keys');
    for (const names of [secret, jwt, app]) expect(names).toContain('name');
    expect([...secret]).toEqual(expect.arrayContaining(['environment', 'expiry', 'credits', 'share']));
    expect(secret).not.toContain('public_key');
    expect(secret).not.toContain('redirect_uris');
    expect(jwt).toContain('public_key');
    expect(jwt).not.toContain('redirect_uris');
    expect(jwt).not.toContain('share'); // a public-key account has no secret to hand over
    expect(app).toContain('redirect_uris');
    expect(app).not.toContain('public_key');
    expect(app).not.toContain('expiry');
    expect(app).not.toContain('environment');
    expect(app).not.toContain('credits');

    // An unknown kind is the caller's mistake, in words.
    const bad = await browser.request('/dashboard/keys/new?kind=root');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('kind');

    // A form sent with an unknown kind creates nothing.
    const count = async () => (await server.keyport.db('o_auth_clients').count({ n: '*' }))[0]!.n;
    const before = await count();
    const sent = await browser.request('/dashboard/keys/new?kind=service_account');
    const refused = await browser.request('/dashboard/keys', {
      form: { csrf: csrfOf(sent.text), nonce: nonceOf(sent.text), kind: 'resource_server', name: 'sneaky' },
    });
    expect(refused.status).toBe(400);
    expect(refused.text).not.toContain('new-secret');
    expect(String(await count())).toBe(String(before));

    // The form for a kind creates that kind.
    const form = await browser.request('/dashboard/keys/new?kind=app');
    const created = await browser.request('/dashboard/keys', {
      form: {
        csrf: csrfOf(form.text),
        nonce: nonceOf(form.text),
        kind: 'app',
        name: 'partner app',
        redirect_uris: 'https://partner.test/cb',
      },
    });
    expect(created.status).toBe(201);
    const clientId = /id="new-client-id">([^<]+)</.exec(created.text)![1]!;
    expect((await server.keyport.clientService.get(clientId)).kind).toBe('app');
  });

  it('rotation asks first, on its own page, with 7 days of grace preselected; the old secret keeps working', async () => {
    const key = await server.keyport.clientService.createServiceAccount({ teamId, name: 'ci' });
    const browser = await signIn('ada@acme.test');
    const keyPage = await browser.request(`/dashboard/keys/${key.client.client_id}`);
    // The key's page links to the confirmation; it does not rotate from one click.
    expect(keyPage.text).toContain(`href="/dashboard/keys/${key.client.client_id}/rotate"`);
    expect(keyPage.text).not.toContain(`action="/dashboard/keys/${key.client.client_id}/rotate"`);

    const confirm = await browser.request(`/dashboard/keys/${key.client.client_id}/rotate`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('ci');
    expect(confirm.text).toMatch(/<option value="604800" selected>7 days<\/option>/);
    expect(confirm.text.match(/ selected/g)).toHaveLength(1);

    // A grace period that is not one of the choices is refused and changes nothing.
    const bad = await browser.request(`/dashboard/keys/${key.client.client_id}/rotate`, {
      form: { csrf: csrfOf(confirm.text), nonce: nonceOf(confirm.text), grace: '12' },
    });
    expect(bad.status).toBe(400);
    const tokenWith = async (secret: string) =>
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.client.client_id, secret) },
        )
      ).status;
    expect(await tokenWith(key.clientSecret!)).toBe(200);

    const again = await browser.request(`/dashboard/keys/${key.client.client_id}/rotate`);
    const rotated = await browser.request(`/dashboard/keys/${key.client.client_id}/rotate`, {
      form: { csrf: csrfOf(again.text), nonce: nonceOf(again.text), grace: '604800' },
    });
    expect(rotated.status).toBe(200);
    const secret = /id="new-secret">([^<]+)</.exec(rotated.text)![1]!;
    expect(await tokenWith(secret)).toBe(200);
    expect(await tokenWith(key.clientSecret!)).toBe(200);
  });

  it('the audit page names people by email, keys by name and actions in words', async () => {
    const browser = await signIn('ada@acme.test');
    const form = await browser.request('/dashboard/keys/new?kind=service_account');
    const created = await browser.request('/dashboard/keys', {
      form: { csrf: csrfOf(form.text), nonce: nonceOf(form.text), kind: 'service_account', name: 'deploy-bot' },
    });
    const clientId = /id="new-client-id">([^<]+)</.exec(created.text)![1]!;
    const confirm = await browser.request(`/dashboard/keys/${clientId}/rotate`);
    await browser.request(`/dashboard/keys/${clientId}/rotate`, {
      form: { csrf: csrfOf(confirm.text), nonce: nonceOf(confirm.text), grace: '604800' },
    });
    const revoke = await browser.request(`/dashboard/keys/${clientId}/revoke`);
    await browser.request(`/dashboard/keys/${clientId}/revoke`, { form: { csrf: csrfOf(revoke.text) } });

    const audit = text((await browser.request('/dashboard/audit')).text);
    expect(audit).toContain('ada@acme.test');
    expect(audit).toContain('rotated the secret of deploy-bot');
    expect(audit).toContain('created the key deploy-bot');
    expect(audit).toContain('revoked deploy-bot');
    expect(audit).not.toContain('client.secret.regenerate');
    expect(audit).not.toMatch(/person \d/);
    // The key's own page tells the same story.
    const own = text((await browser.request(`/dashboard/keys/${clientId}`)).text);
    expect(own).toContain('ada@acme.test');
    expect(own).toContain('rotated the secret of deploy-bot');
  });
});
