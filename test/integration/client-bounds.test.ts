import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const PASSWORD = 'Client-Bounds-1';
const MAX_CREDITS = 1_000_000_000_000;
const nonceOf = (page: string) => /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** The bounds of a key's expiry and credits, the same through the admin API, the dashboard and the CLI. */
describe.each(DATABASES)('key expiry and credit bounds on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let databaseUrl: string;
  let teamId: number;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  const create = (body: Record<string, unknown>) =>
    api('POST', `/teams/${teamId}/clients`, { kind: 'service_account', ...body });
  const keysOfTeam = async (team = teamId) =>
    Number((await server.keyport.db('o_auth_clients').where({ team_id: team }).count({ n: '*' }))[0]!.n);

  /** Sends the dashboard's "Generate a new key" form as an admin, with `fields` over the defaults. */
  async function dashboardCreate(fields: Record<string, string>) {
    const browser = new Browser(server.url);
    const signin = await browser.request('/dashboard/signin');
    const credentials = { csrf: csrfOf(signin.text), email: 'admin@bounds.test', password: PASSWORD };
    expect((await browser.request('/dashboard/signin', { form: credentials })).status).toBe(303);
    const form = await browser.request('/dashboard/keys/new?kind=service_account');
    expect(form.status).toBe(200);
    const defaults = {
      csrf: csrfOf(form.text),
      nonce: nonceOf(form.text),
      kind: 'service_account',
      name: 'bounded',
      scopes: 'api:read',
    };
    return browser.request('/dashboard/keys', { form: { ...defaults, ...fields } });
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    databaseUrl = created.url;
    const plans = { pro: { api_access: true, max_keys: 1000 } };
    server = await startServer(created.url, { admin_token: OPERATOR, plans });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Bounds', plan: 'pro' })).id;
    const admin = { teamId, email: 'admin@bounds.test', password: PASSWORD, role: 'admin' };
    await server.keyport.teamService.addPerson(admin);
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  describe('expiry: expires_in_days is a whole number from 1 to 3650', () => {
    const apiRefuses = 'the admin API refuses expires_in_days %s (400 invalid_request), stores nothing';
    it.each([0, 3651, 1.5, -1])(apiRefuses, async (days) => {
      const before = await keysOfTeam();
      const res = await create({ expires_in_days: days });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
      expect(res.body.message).toMatch(/^expires_in_days/);
      expect(await keysOfTeam()).toBe(before);
    });

    it('the admin API accepts 1 and 3650 days, and the key expires then', async () => {
      for (const days of [1, 3650]) {
        const res = await create({ expires_in_days: days });
        expect(res.status).toBe(201);
        const expires = Date.parse(res.body.expires_at);
        expect(Math.abs(expires - (Date.now() + days * 86_400_000))).toBeLessThan(3_600_000);
      }
    });

    const dashboardRefuses = 'the dashboard refuses expiry=%s (400, in words), stores nothing';
    it.each(['0', '3651', '-30', '2.5', 'forever'])(dashboardRefuses, async (expiry) => {
      const before = await keysOfTeam();
      const res = await dashboardCreate({ expiry });
      expect(res.status).toBe(400);
      expect(res.text).toContain('expires_in_days: must be a whole number from 1 to 3650');
      expect(res.text).not.toContain('new-secret');
      expect(await keysOfTeam()).toBe(before);
    });

    it('the dashboard refuses an expiry date more than 3650 days ahead (400) and stores nothing', async () => {
      const before = await keysOfTeam();
      const res = await dashboardCreate({ expiry: 'date', expires_on: '2200-01-01' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('expires_in_days');
      expect(await keysOfTeam()).toBe(before);
    });

    it('the dashboard accepts 3650 days', async () => {
      const res = await dashboardCreate({ expiry: '3650' });
      expect(res.status).toBe(201);
      expect(res.text).toContain('new-secret');
    });

    it('the CLI refuses -expires-in-days 3651 with a non-zero exit and stores nothing', async () => {
      const env = { PATH: process.env.PATH, DATABASE_URL: databaseUrl, KEYS_DIR: server.config.keysDir };
      const team = (await server.keyport.teamService.createTeam({ name: 'Cli', plan: 'pro' })).id;
      const add = (days: string) =>
        runCli(env, 'serviceaccountadd', '-team', String(team), '-expires-in-days', days, '-json');
      const refused = await add('3651');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('expires_in_days');
      expect(await keysOfTeam(team)).toBe(0);
      const accepted = await add('3650');
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(await keysOfTeam(team)).toBe(1);
    });
  });

  describe('credits: remaining 0 to 10^12, a refill of 1 to 10^12 a day or a month', () => {
    it.each([
      ['remaining above 10^12', { remaining: MAX_CREDITS + 1 }, /^credits\.remaining/],
      ['negative remaining', { remaining: -1 }, /^credits\.remaining/],
      ['fractional remaining', { remaining: 1.5 }, /^credits\.remaining/],
      [
        'a refill above 10^12',
        { remaining: 1, refill: { interval: 'day', amount: MAX_CREDITS + 1 } },
        /^credits\.refill/,
      ],
      ['a refill of 0', { remaining: 1, refill: { interval: 'day', amount: 0 } }, /^credits\.refill\.amount/],
      ['a weekly refill', { remaining: 1, refill: { interval: 'week', amount: 5 } }, /^credits\.refill\.interval/],
    ])('the admin API refuses %s on create and on update (400), stores nothing', async (_what, credits, field) => {
      const before = await keysOfTeam();
      const refused = await create({ credits });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_request' });
      expect(refused.body.message).toMatch(field);
      expect(await keysOfTeam()).toBe(before);

      const key = (await create({ credits: { remaining: 7, refill: null } })).body;
      const patched = await api('PATCH', `/teams/${teamId}/clients/${key.client_id}`, { credits });
      expect(patched.status).toBe(400);
      expect(patched.body.message).toMatch(field);
      const row = await server.keyport.db('o_auth_clients').where({ client_id: key.client_id }).first();
      expect(Number(row.credits_remaining)).toBe(7);
      expect(row.credits_refill_amount).toBeNull();
    });

    it('the admin API accepts the bounds themselves: 0 and 10^12 remaining, a refill of 1 and of 10^12', async () => {
      const low = await create({ credits: { remaining: 0, refill: { interval: 'month', amount: 1 } } });
      expect(low.status).toBe(201);
      expect(low.body.credits).toEqual({ remaining: 0, refill: { interval: 'month', amount: 1 } });
      const highest = { remaining: MAX_CREDITS, refill: { interval: 'day', amount: MAX_CREDITS } };
      const high = await create({ credits: highest });
      expect(high.status).toBe(201);
      const row = await server.keyport.db('o_auth_clients').where({ client_id: high.body.client_id }).first();
      expect(Number(row.credits_remaining)).toBe(MAX_CREDITS);
      expect(Number(row.credits_refill_amount)).toBe(MAX_CREDITS);
    });

    const creditsRefused = 'the dashboard refuses credits=%s (400), stores nothing';
    it.each(['-1', '1.5', String(MAX_CREDITS + 1)])(creditsRefused, async (credits) => {
      const before = await keysOfTeam();
      const res = await dashboardCreate({ credits });
      expect(res.status).toBe(400);
      expect(res.text).toContain('credits.remaining: must be a whole number from 0 to');
      expect(await keysOfTeam()).toBe(before);
    });

    it('the dashboard stores credits within the bounds', async () => {
      const res = await dashboardCreate({ credits: '5' });
      expect(res.status).toBe(201);
      const clientId = /id="new-client-id">([^<]+)</.exec(res.text)![1]!;
      const row = await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first();
      expect(Number(row.credits_remaining)).toBe(5);
    });
  });
});
