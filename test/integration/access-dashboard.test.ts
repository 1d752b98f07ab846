import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

const PASSWORD = 'Dashboard-Pass-1';

/**
 * The dashboard's access rules, one request per key action and person, on every database:
 * admins act, members only look, nobody reaches another team's keys, every form needs its CSRF token.
 */
describe.each(DATABASES)('dashboard access rules on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;

  async function signIn(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email, password: PASSWORD },
    });
    expect(res.status).toBe(303);
    const keys = await browser.request('/dashboard/keys');
    return { browser, csrf: csrfOf(keys.text) };
  }

  async function person(team: number, role: 'admin' | 'member') {
    const email = `${role}-${Math.random().toString(36).slice(2)}@t${team}.test`;
    const user = await server.keyport.teamService.addPerson({ teamId: team, email, password: PASSWORD, role });
    return { email, userId: user.id };
  }

  async function keyIn(team: number) {
    const made = await server.keyport.clientService.createServiceAccount({ teamId: team, name: 'original' });
    return { clientId: made.client.client_id, secret: made.clientSecret! };
  }

  const tokenStatus = async (key: { clientId: string; secret: string }) =>
    (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(key.clientId, key.secret) },
      )
    ).status;

  /** Each key action as a browser sends it, and what it leaves behind when refused. */
  const ACTIONS = [
    {
      name: 'create',
      // Named after the test's fresh key, so each test looks for its own.
      send: (b: Browser, csrf: string, key: { clientId: string }) =>
        b.request('/dashboard/keys', {
          form: { csrf, nonce: `n-${Math.random()}`, kind: 'service_account', name: `made-${key.clientId}` },
        }),
      allowed: 201,
      untouched: async (team: number, key: { clientId: string }) =>
        expect(
          await server.keyport.db('o_auth_clients').where({ team_id: team, name: `made-${key.clientId}` }),
        ).toHaveLength(0),
    },
    {
      name: 'edit',
      send: (b: Browser, csrf: string, key: { clientId: string }) =>
        b.request(`/dashboard/keys/${key.clientId}/edit`, { form: { csrf, name: 'edited', scopes: 'api:read' } }),
      allowed: 303,
      untouched: async (_team: number, key: { clientId: string }) =>
        expect((await server.keyport.clientService.get(key.clientId)).name).toBe('original'),
    },
    {
      name: 'rotate',
      send: (b: Browser, csrf: string, key: { clientId: string }) =>
        b.request(`/dashboard/keys/${key.clientId}/rotate`, {
          form: { csrf, nonce: `n-${Math.random()}`, grace: '0' },
        }),
      allowed: 200,
      untouched: async (_team: number, key: { clientId: string; secret: string }) =>
        expect(await tokenStatus(key)).toBe(200),
    },
    {
      name: 'revoke',
      send: (b: Browser, csrf: string, key: { clientId: string }) =>
        b.request(`/dashboard/keys/${key.clientId}/revoke`, { form: { csrf } }),
      allowed: 303,
      untouched: async (_team: number, key: { clientId: string }) =>
        expect((await server.keyport.clientService.get(key.clientId)).revokedAt).toBeNull(),
    },
  ] as const;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 500 } } });
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  describe.each(ACTIONS)('$name a key', (action) => {
    it('an admin of the team may', async () => {
      const { browser, csrf } = await signIn((await person(teamA, 'admin')).email);
      expect((await action.send(browser, csrf, await keyIn(teamA))).status).toBe(action.allowed);
    });

    it('a member of the team is refused with 403 and nothing changes', async () => {
      const { browser, csrf } = await signIn((await person(teamA, 'member')).email);
      const key = await keyIn(teamA);
      expect((await action.send(browser, csrf, key)).status).toBe(403);
      await action.untouched(teamA, key);
    });

    it('a demoted admin is refused at the next request', async () => {
      const admin = await person(teamA, 'admin');
      const { browser, csrf } = await signIn(admin.email);
      await server.keyport
        .db('team_memberships')
        .where({ team_id: teamA, user_id: admin.userId })
        .update({ role: 'member' });
      const key = await keyIn(teamA);
      expect((await action.send(browser, csrf, key)).status).toBe(403);
      await action.untouched(teamA, key);
    });

    it('a form without its CSRF token, or with a wrong one, is refused with 403 and nothing changes', async () => {
      const { browser, csrf } = await signIn((await person(teamA, 'admin')).email);
      const key = await keyIn(teamA);
      expect((await action.send(browser, '', key)).status).toBe(403);
      expect((await action.send(browser, `${csrf.slice(0, -2)}${csrf.endsWith('xx') ? 'yy' : 'xx'}`, key)).status).toBe(
        403,
      );
      // A token is bound to its session: another admin's does not do.
      const other = await signIn((await person(teamA, 'admin')).email);
      expect((await action.send(browser, other.csrf, key)).status).toBe(403);
      await action.untouched(teamA, key);
    });
  });

  describe.each(ACTIONS.filter((a) => a.name !== 'create'))("$name another team's key", (action) => {
    it('answers 404 to an admin, and nothing changes', async () => {
      const { browser, csrf } = await signIn((await person(teamA, 'admin')).email);
      const theirs = await keyIn(teamB);
      expect((await action.send(browser, csrf, theirs)).status).toBe(404);
      await action.untouched(teamB, theirs);
    });
  });

  it("another team's key page, and its revoke page, answer 404", async () => {
    const { browser } = await signIn((await person(teamA, 'admin')).email);
    const theirs = await keyIn(teamB);
    expect((await browser.request(`/dashboard/keys/${theirs.clientId}`)).status).toBe(404);
    expect((await browser.request(`/dashboard/keys/${theirs.clientId}/revoke`)).status).toBe(404);
  });

  it('members see keys, members and the audit log, but not the forms that change keys', async () => {
    const { browser } = await signIn((await person(teamA, 'member')).email);
    const key = await keyIn(teamA);
    for (const page of ['/dashboard/keys', `/dashboard/keys/${key.clientId}`, '/dashboard/members', '/dashboard/audit'])
      expect((await browser.request(page)).status).toBe(200);
    expect((await browser.request('/dashboard/keys/new')).status).toBe(403);
    expect((await browser.request(`/dashboard/keys/${key.clientId}/revoke`)).status).toBe(403);
  });

  it('the sign-out form needs its CSRF token', async () => {
    const { browser, csrf } = await signIn((await person(teamA, 'member')).email);
    expect((await browser.request('/dashboard/signout', { form: { csrf: 'forged' } })).status).toBe(403);
    expect((await browser.request('/dashboard/keys')).status).toBe(200);
    expect((await browser.request('/dashboard/signout', { form: { csrf } })).status).toBe(303);
  });

  it('the sign-in form needs the CSRF token of its own login cookie', async () => {
    const { email } = await person(teamA, 'member');
    const browser = new Browser(server.url);
    await browser.request('/dashboard/signin');
    const forged = await browser.request('/dashboard/signin', { form: { csrf: 'forged', email, password: PASSWORD } });
    expect(forged.status).toBe(403);
    expect(forged.headers.getSetCookie().some((c) => c.startsWith('kp_dashboard='))).toBe(false);
  });
});
