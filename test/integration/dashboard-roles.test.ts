import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

const PASSWORD = 'Dashboard-Roles-1';
const nonce = () => randomBytes(16).toString('base64url');

/** Who may change a key from the dashboard: admins of the key's team, from a form the dashboard served. */
describe.each(DATABASES)('dashboard roles and forms on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let otherTeam: number;

  /** Signs in through the form as a browser would; returns the browser and the CSRF token of its session. */
  async function signIn(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const fields = { csrf: csrfOf(form.text), email, password: PASSWORD };
    const res = await browser.request('/dashboard/signin', { form: fields });
    expect(res.status).toBe(303);
    const page = await browser.request('/dashboard/keys');
    expect(page.status).toBe(200);
    return { browser, csrf: csrfOf(page.text) };
  }

  async function newKey(team = teamId) {
    const input = { teamId: team, name: 'original', scopes: ['api:read'] };
    const created = await server.keyport.clientService.createServiceAccount(input);
    return { id: created.client.client_id, secret: created.clientSecret! };
  }

  const row = (clientId: string) => server.keyport.db('o_auth_clients').where({ client_id: clientId }).first();
  const tokenStatus = async (key: { id: string; secret: string }) => {
    const form = { grant_type: 'client_credentials' };
    return (await postForm(`${server.url}/token`, form, { authorization: basic(key.id, key.secret) })).status;
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 100 } } });
    const { teamService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    otherTeam = (await teamService.createTeam({ name: 'Other', plan: 'pro' })).id;
    await teamService.addPerson({ teamId, email: 'admin@roles.test', password: PASSWORD, role: 'admin' });
    await teamService.addPerson({ teamId, email: 'member@roles.test', password: PASSWORD, role: 'member' });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a team member cannot revoke a key from the dashboard (403)', async () => {
    const key = await newKey();
    const { browser, csrf } = await signIn('member@roles.test');
    expect((await browser.request(`/dashboard/keys/${key.id}/revoke`)).status).toBe(403);
    const res = await browser.request(`/dashboard/keys/${key.id}/revoke`, { form: { csrf } });
    expect(res.status).toBe(403);
    expect((await row(key.id)).revoked_at).toBeNull();
    expect(await tokenStatus(key)).toBe(200);
  });

  it("a team member cannot rotate a key's secret from the dashboard (403)", async () => {
    const key = await newKey();
    const before = await row(key.id);
    const { browser, csrf } = await signIn('member@roles.test');
    const res = await browser.request(`/dashboard/keys/${key.id}/rotate`, {
      form: { csrf, nonce: nonce(), grace: '0' },
    });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('new-secret');
    const after = await row(key.id);
    expect(after.client_secret_hash).toBe(before.client_secret_hash);
    expect(after.previous_secret_hash).toBeNull();
    expect(await tokenStatus(key)).toBe(200);
  });

  it('a team member cannot edit a key (name, scopes) from the dashboard (403)', async () => {
    const key = await newKey();
    const { browser, csrf } = await signIn('member@roles.test');
    const res = await browser.request(`/dashboard/keys/${key.id}/edit`, {
      form: { csrf, name: 'taken over', scopes: 'api:write' },
    });
    expect(res.status).toBe(403);
    const after = await row(key.id);
    expect(after.name).toBe('original');
    expect(after.scopes).toBe('api:read');
  });

  it('a team admin may revoke, rotate and edit the same way (the forms above are otherwise valid)', async () => {
    const key = await newKey();
    const { browser, csrf } = await signIn('admin@roles.test');
    const edited = await browser.request(`/dashboard/keys/${key.id}/edit`, {
      form: { csrf, name: 'renamed', scopes: 'api:write' },
    });
    expect(edited.status).toBe(303);
    expect(await row(key.id)).toMatchObject({ name: 'renamed', scopes: 'api:write' });

    const rotated = await browser.request(`/dashboard/keys/${key.id}/rotate`, {
      form: { csrf, nonce: nonce(), grace: '0' },
    });
    expect(rotated.status).toBe(200);
    const secret = /id="new-secret">([^<]+)</.exec(rotated.text)![1]!;
    expect(await tokenStatus(key)).toBe(401);
    expect(await tokenStatus({ id: key.id, secret })).toBe(200);

    const revoked = await browser.request(`/dashboard/keys/${key.id}/revoke`, { form: { csrf } });
    expect(revoked.status).toBe(303);
    expect((await row(key.id)).revoked_at).not.toBeNull();
    expect(await tokenStatus({ id: key.id, secret })).toBe(401);
  });

  describe('CSRF', () => {
    it('a revoke form without the CSRF token of the session is refused (403) and revokes nothing', async () => {
      const key = await newKey();
      const admin = await signIn('admin@roles.test');
      const other = await signIn('admin@roles.test');
      expect(other.csrf).not.toBe(admin.csrf);
      for (const csrf of ['', 'forged', other.csrf]) {
        const res = await admin.browser.request(`/dashboard/keys/${key.id}/revoke`, { form: { csrf } });
        expect(res.status).toBe(403);
      }
      expect((await row(key.id)).revoked_at).toBeNull();
    });

    it('a rotate form without the CSRF token of the session is refused (403) and shows no secret', async () => {
      const key = await newKey();
      const before = await row(key.id);
      const { browser } = await signIn('admin@roles.test');
      const res = await browser.request(`/dashboard/keys/${key.id}/rotate`, {
        form: { csrf: 'forged', nonce: nonce(), grace: '0' },
      });
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('new-secret');
      expect((await row(key.id)).client_secret_hash).toBe(before.client_secret_hash);
      expect(await tokenStatus(key)).toBe(200);
    });

    it('an edit form without the CSRF token of the session is refused (403) and changes nothing', async () => {
      const key = await newKey();
      const { browser } = await signIn('admin@roles.test');
      const res = await browser.request(`/dashboard/keys/${key.id}/edit`, {
        form: { csrf: 'forged', name: 'csrf', scopes: 'api:write' },
      });
      expect(res.status).toBe(403);
      expect(await row(key.id)).toMatchObject({ name: 'original', scopes: 'api:read' });
    });
  });

  it("an admin cannot edit or rotate another team's key (404), and it stays as it was", async () => {
    const theirs = await newKey(otherTeam);
    const before = await row(theirs.id);
    const { browser, csrf } = await signIn('admin@roles.test');
    const edit = await browser.request(`/dashboard/keys/${theirs.id}/edit`, { form: { csrf, name: 'mine now' } });
    expect(edit.status).toBe(404);
    const rotate = await browser.request(`/dashboard/keys/${theirs.id}/rotate`, {
      form: { csrf, nonce: nonce(), grace: '0' },
    });
    expect(rotate.status).toBe(404);
    expect(rotate.text).not.toContain('new-secret');
    const after = await row(theirs.id);
    expect(after.name).toBe('original');
    expect(after.client_secret_hash).toBe(before.client_secret_hash);
    expect(await tokenStatus(theirs)).toBe(200);
  });
});
