import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const PASSWORD = 'Removed-Plan-1';
const nonceOf = (page: string) => /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** A team whose plan was removed from the configuration keeps its data but gets no API access and no new keys. */
describe.each(DATABASES)('a team on a removed plan on $name', (database) => {
  let before: TestServer;
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let key: { id: string; secret: string };
  let rs: { id: string; secret: string };

  const keysOfTeam = async () =>
    Number((await server.keyport.db('o_auth_clients').where({ team_id: teamId }).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const pro = { api_access: true, max_keys: 100 };
    // The team and its key are made while "legacy" is configured; then keyport runs without it.
    before = await startServer(created.url, { admin_token: OPERATOR, plans: { pro, legacy: pro } });
    teamId = (await before.keyport.teamService.createTeam({ name: 'Old customer', plan: 'legacy' })).id;
    const admin = { teamId, email: 'admin@legacy.test', password: PASSWORD, role: 'admin' };
    await before.keyport.teamService.addPerson(admin);
    const sa = await before.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    key = { id: sa.client.client_id, secret: sa.clientSecret! };
    await before.close();
    const settings = { admin_token: OPERATOR, keys_dir: before.config.keysDir, plans: { pro } };
    server = await startServer(created.url, settings);
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('its budget is the one the dashboard shows: one removed-plan rule', async () => {
    const team = await server.keyport.teamService.getTeam(teamId);
    const shown = server.keyport.teamService.planOf(team).rate_limits;
    const held = server.keyport.limits.plans.limitsFor({
      plan: 'legacy',
      environment: 'prod',
      kind: 'service_account',
    });
    expect(held).toEqual(shown);
    expect(shown).toEqual([30, 500, 5000]);
  });

  it('the admin API creates no key for it: 403 insufficient_permissions, nothing stored', async () => {
    const count = await keysOfTeam();
    const res = await fetch(`${server.url}/api/teams/${teamId}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'service_account' }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'insufficient_permissions' });
    expect(await keysOfTeam()).toBe(count);
  });

  it('the dashboard says the plan has no API access and creates no key', async () => {
    const browser = new Browser(server.url);
    const signin = await browser.request('/dashboard/signin');
    const credentials = { csrf: csrfOf(signin.text), email: 'admin@legacy.test', password: PASSWORD };
    expect((await browser.request('/dashboard/signin', { form: credentials })).status).toBe(303);
    const keys = await browser.request('/dashboard/keys');
    expect(keys.text).toContain('Your plan does not include API access');
    const count = await keysOfTeam();
    const form = await browser.request('/dashboard/keys/new?kind=service_account');
    const fields = {
      csrf: csrfOf(form.text),
      nonce: nonceOf(form.text),
      kind: 'service_account',
      name: 'after removal',
    };
    const res = await browser.request('/dashboard/keys', { form: fields });
    expect(res.status).toBe(400);
    expect(res.text).toContain('does not include API access');
    expect(res.text).not.toContain('new-secret');
    expect(await keysOfTeam()).toBe(count);
  });

  it('its existing key gets no token: 400 unauthorized_client', async () => {
    const form = { grant_type: 'client_credentials' };
    const res = await postForm(`${server.url}/token`, form, { authorization: basic(key.id, key.secret) });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });

  it('its existing key used directly is NO_API_ACCESS at /keys/verify, and inactive at introspection', async () => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key: key.secret }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ valid: false, code: 'NO_API_ACCESS', client_id: key.id });
    const auth = { authorization: basic(rs.id, rs.secret) };
    const introspected = await postForm(`${server.url}/token/introspection`, { token: key.secret }, auth);
    expect(introspected.body).toEqual({ active: false });
  });

  it('its data is kept: the key is still listed, valid, for the operator', async () => {
    const headers = { authorization: `Bearer ${OPERATOR}` };
    const res = await fetch(`${server.url}/api/teams/${teamId}/clients`, { headers });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: Array<{ client_id: string; is_valid: boolean }> };
    expect(page.data).toContainEqual(expect.objectContaining({ client_id: key.id, is_valid: true }));
  });
});
