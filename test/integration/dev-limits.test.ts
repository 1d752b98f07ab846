import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { Browser } from '../helpers/auth-flow.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const password = 'Dev-Limits-Pass-1';

/** BugBrain (001, Key Environments): development keys have their own limits, set per plan. */
describe.each(DATABASES)('each plan states its development limits, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };

  const devKey = async (plan: string) => {
    const teamId = (await server.keyport.teamService.createTeam({ name: plan, plan })).id;
    const made = await server.keyport.clientService.createServiceAccount({ teamId, environment: 'dev' });
    return { teamId, id: made.client.client_id, secret: made.clientSecret! };
  };
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    const body = (await res.json()) as { code: string; ratelimit: { limit: number } };
    return { header: res.headers.get('x-ratelimit-limit'), body };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      plans: {
        pro: { api_access: true, rate_limits: [120, 5000, 50_000], dev_rate_limits: [20, 400, 4000] },
        plain: { api_access: true, rate_limits: [120, 5000, 50_000] },
      },
    });
    const made = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: made.client.client_id, secret: made.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("a dev key of a plan with dev_rate_limits gets them: /keys/verify's ratelimit and X-RateLimit-Limit", async () => {
    const key = await devKey('pro');
    const { header, body } = await verify(key.secret);
    expect(body.code).toBe('VALID');
    expect(body.ratelimit.limit).toBe(20);
    expect(header).toBe('20');
  });

  it('the token endpoint answers a dev key with the same X-RateLimit-Limit', async () => {
    const key = await devKey('pro');
    const res = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(key.id, key.secret) },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('20');
  });

  it('a plan without dev_rate_limits keeps a tenth of its own', async () => {
    const key = await devKey('plain');
    const { header, body } = await verify(key.secret);
    expect(body.ratelimit.limit).toBe(12);
    expect(header).toBe('12');
  });

  it('the dashboard shows the development limits beside the plan’s', async () => {
    const key = await devKey('pro');
    await server.keyport.teamService.addPerson({ teamId: key.teamId, email: 'dev@pro.test', password, role: 'admin' });
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'dev@pro.test', password },
    });
    const page = await browser.request('/dashboard/keys');
    expect(page.status).toBe(200);
    expect(page.text).toContain('120 calls a minute, 5000 an hour and 50000 a day');
    expect(page.text).toMatch(/Development keys[^<]*20 calls a minute, 400 an hour and 4000 a day/);
  });
});
