import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser } from '../helpers/auth-flow.js';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const nonceOf = (page: string) => /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** Issue 16 over HTTP on every database: the dashboard's rules, as a browser without a script meets them. */
describe.each(DATABASES)('the team dashboard on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let otherTeam: number;
  const password = 'Dashboard-Pass-1';

  async function signIn(email: string, pw = password) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password: pw } });
    return { browser, res };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      plans: { pro: { api_access: true, max_keys: 3 }, starter: { api_access: false, max_keys: 10 } },
    });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    otherTeam = (await server.keyport.teamService.createTeam({ name: 'Other', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'admin@acme.test', password, role: 'admin' });
    await server.keyport.teamService.addPerson({ teamId, email: 'member@acme.test', password, role: 'member' });
    await server.keyport.teamService.addPerson({
      teamId: otherTeam,
      email: 'admin@other.test',
      password,
      role: 'admin',
    });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('sign-in sets an HttpOnly, SameSite=Lax session cookie; every page is no-store with a strict CSP', async () => {
    const { browser, res } = await signIn('admin@acme.test');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/keys');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('kp_dashboard='))!;
    expect(cookie).toMatch(/httponly/i);
    expect(cookie).toMatch(/samesite=lax/i);
    expect(cookie).not.toMatch(/secure/i); // the issuer is http here; https issuers get Secure
    const keys = await browser.request('/dashboard/keys');
    expect(keys.status).toBe(200);
    expect(keys.headers.get('cache-control')).toBe('no-store');
    const csp = keys.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(keys.text).not.toMatch(/<script>(?!<\/script>)|https?:\/\/(?!127\.0\.0\.1)/);
    expect((await new Browser(server.url).request('/dashboard/keys')).headers.get('location')).toBe(
      '/dashboard/signin',
    );
    expect((await signIn('admin@acme.test', 'wrong-password')).res.status).toBe(401);
  });

  it('an admin creates a key: the secret is shown once, works at /token, and the form cannot be sent twice', async () => {
    const { browser } = await signIn('admin@acme.test');
    const form = await browser.request('/dashboard/keys/new?kind=service_account');
    const fields = {
      csrf: csrfOf(form.text),
      nonce: nonceOf(form.text),
      kind: 'service_account',
      name: 'From the dashboard',
      environment: 'prod',
      expiry: '30',
      scopes: 'api:read',
    };
    const created = await browser.request('/dashboard/keys', { form: fields });
    expect(created.status).toBe(201);
    const secret = /id="new-secret">([^<]+)</.exec(created.text)![1]!;
    const clientId = /id="new-client-id">([^<]+)</.exec(created.text)![1]!;
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(clientId, secret) },
        )
      ).status,
    ).toBe(200);
    // Sending the same form again (a reload) creates nothing and shows nothing.
    const again = await browser.request('/dashboard/keys', { form: fields });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain('new-secret');
    // The key page never shows the secret.
    expect((await browser.request(`/dashboard/keys/${clientId}`)).text).not.toContain(secret);
  });

  it('the key limit and the plan gate answer in words', async () => {
    const { browser } = await signIn('admin@acme.test');
    let last;
    for (let i = 0; i < 4; i++) {
      const form = await browser.request('/dashboard/keys/new?kind=service_account');
      last = await browser.request('/dashboard/keys', {
        form: { csrf: csrfOf(form.text), nonce: nonceOf(form.text), kind: 'service_account', name: `k${i}` },
      });
    }
    expect(last!.status).toBe(400);
    expect(last!.text).toMatch(/already holds 3 valid keys, the most its plan/);
    await server.keyport.db('teams').where({ id: teamId }).update({ plan: 'starter' });
    const keys = await browser.request('/dashboard/keys');
    expect(keys.text).toContain('Your plan does not include API access');
    expect(keys.text).not.toContain('id="new-key"');
    await server.keyport.db('teams').where({ id: teamId }).update({ plan: 'pro' });
  });

  it('members see the list read-only; a demoted admin loses the actions at once; CSRF is refused', async () => {
    const member = await signIn('member@acme.test');
    expect((await member.browser.request('/dashboard/keys')).text).not.toContain('id="new-key"');
    expect((await member.browser.request('/dashboard/keys/new')).status).toBe(403);

    const admin = await signIn('admin@acme.test');
    const form = await admin.browser.request('/dashboard/keys/new?kind=service_account');
    const forged = await admin.browser.request('/dashboard/keys', {
      form: { csrf: 'forged', nonce: nonceOf(form.text), kind: 'service_account', name: 'csrf' },
    });
    expect(forged.status).toBe(403);

    const adminId = (await server.keyport.teams.findUserByEmail('admin@acme.test'))!.id;
    await server.keyport.db('team_memberships').where({ team_id: teamId, user_id: adminId }).update({ role: 'member' });
    try {
      const refused = await admin.browser.request('/dashboard/keys', {
        form: { csrf: csrfOf(form.text), nonce: nonceOf(form.text), kind: 'service_account', name: 'demoted' },
      });
      expect(refused.status).toBe(403);
      expect((await admin.browser.request('/dashboard/keys')).text).not.toContain('id="new-key"');
    } finally {
      await server.keyport
        .db('team_memberships')
        .where({ team_id: teamId, user_id: adminId })
        .update({ role: 'admin' });
    }
  });

  it("another team's key is 404, exactly like the admin API", async () => {
    const theirs = await server.keyport.clientService.createServiceAccount({ teamId: otherTeam, name: 'theirs' });
    const { browser } = await signIn('admin@acme.test');
    expect((await browser.request(`/dashboard/keys/${theirs.client.client_id}`)).status).toBe(404);
    expect((await browser.request(`/dashboard/keys/${theirs.client.client_id}/revoke`)).status).toBe(404);
    const page = await browser.request('/dashboard/keys');
    const revoke = await browser.request(`/dashboard/keys/${theirs.client.client_id}/revoke`, {
      form: { csrf: csrfOf(page.text) },
    });
    expect(revoke.status).toBe(404);
    expect((await server.keyport.clientService.get(theirs.client.client_id)).revokedAt).toBeNull();
  });

  it('an idle session ends after 30 minutes; signing out ends it at once', async () => {
    const { browser } = await signIn('admin@acme.test');
    await server.keyport.db('dashboard_sessions').update({ last_seen_at: Math.floor(Date.now() / 1000) - 31 * 60 });
    expect((await browser.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');

    const fresh = await signIn('admin@acme.test');
    const page = await fresh.browser.request('/dashboard/keys');
    expect((await fresh.browser.request('/dashboard/signout', { form: { csrf: csrfOf(page.text) } })).status).toBe(303);
    expect((await fresh.browser.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
  });
});
