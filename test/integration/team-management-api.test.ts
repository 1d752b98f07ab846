import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const password = 'Team-Api-Pass-1';

/** Issue 24 item 8 over HTTP: the operator manages teams and people at the admin API, each change audited. */
describe.each(DATABASES)('operator team and people routes on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let adminId: number;
  let memberId: number;
  let managerToken: string;
  let sa: { id: string; secret: string };

  const api = async (
    method: string,
    path: string,
    { token = OPERATOR, body }: { token?: string; body?: unknown } = {},
  ) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const audited = async (action: string) =>
    server.keyport.db('audit_events').where({ team_id: teamId, action }).orderBy('id', 'desc').first();
  async function signIn(email: string, pw: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password: pw } });
    return { browser, status: res.status };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: {
        starter: { api_access: false, max_keys: 10 },
        pro: { api_access: true, max_keys: 3 },
        enterprise: { api_access: true, max_keys: 50 },
      },
    });
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    adminId = (await teamService.addPerson({ teamId, email: 'admin@acme.test', password, role: 'admin' })).id;
    memberId = (await teamService.addPerson({ teamId, email: 'member@acme.test', password, role: 'member' })).id;
    const manager = await clientService.createServiceAccount({ teamId, name: 'manager', scopes: ['keys:manage'] });
    sa = { id: manager.client.client_id, secret: manager.clientSecret! };
    managerToken = (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials', scope: 'keys:manage' },
        { authorization: basic(sa.id, sa.secret) },
      )
    ).body.access_token as string;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('GET /api/teams lists the teams; a team’s own token is refused 403', async () => {
    const res = await api('GET', '/teams');
    expect(res.status).toBe(200);
    expect(res.body.data).toContainEqual(
      expect.objectContaining({ team_id: teamId, name: 'Acme', plan: 'pro', created_at: expect.any(String) }),
    );
    const refused = await api('GET', '/teams', { token: managerToken });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('insufficient_permissions');
  });

  it('PATCH /api/teams/:team {plan} applies the plan’s key limit at once; unknown team 404, unknown plan 400', async () => {
    // pro allows 3 keys; the team holds 1.
    for (const name of ['k2', 'k3'])
      expect((await api('POST', `/teams/${teamId}/clients`, { body: { name } })).status).toBe(201);
    expect((await api('POST', `/teams/${teamId}/clients`, { body: { name: 'k4' } })).body.error).toBe(
      'key_limit_reached',
    );
    const changed = await api('PATCH', `/teams/${teamId}`, { body: { plan: 'enterprise' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ team_id: teamId, plan: 'enterprise', previous_plan: 'pro' });
    expect((await api('POST', `/teams/${teamId}/clients`, { body: { name: 'k4' } })).status).toBe(201);
    expect(await audited('team.plan.change')).toMatchObject({ actor_type: 'operator', status: 200 });

    const unknownTeam = await api('PATCH', '/teams/999999', { body: { plan: 'pro' } });
    expect(unknownTeam.status).toBe(404);
    expect(unknownTeam.body.error).toBe('not_found');
    const unknownPlan = await api('PATCH', `/teams/${teamId}`, { body: { plan: 'platinum' } });
    expect(unknownPlan.status).toBe(400);
    expect(unknownPlan.body).toMatchObject({ error: 'invalid_request' });
    expect(unknownPlan.body.message).toMatch(/unknown plan/);
    expect((await server.keyport.teamService.getTeam(teamId)).plan).toBe('enterprise');
    expect((await api('PATCH', `/teams/${teamId}`, { token: managerToken, body: { plan: 'starter' } })).status).toBe(
      403,
    );
  });

  it('GET /api/teams/:team/members lists people and service accounts; unknown team 404', async () => {
    const res = await api('GET', `/teams/${teamId}/members`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user_id: adminId, kind: 'person', email: 'admin@acme.test', role: 'admin' }),
        expect.objectContaining({ user_id: memberId, kind: 'person', role: 'member' }),
        expect.objectContaining({ kind: 'service_account', name: 'manager', client_id: sa.id }),
      ]),
    );
    expect(JSON.stringify(res.body)).not.toMatch(/password|\$2[aby]\$/);
    expect((await api('GET', '/teams/999999/members')).status).toBe(404);
  });

  it('PATCH …/members/:user_id {role}: the last admin is refused 409; unknown person 404; bad role 400', async () => {
    const last = await api('PATCH', `/teams/${teamId}/members/${adminId}`, { body: { role: 'member' } });
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('last_admin');
    const promoted = await api('PATCH', `/teams/${teamId}/members/${memberId}`, { body: { role: 'admin' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ user_id: memberId, role: 'admin', previous_role: 'member' });
    expect(await audited('member.role.change')).toMatchObject({ actor_type: 'operator', status: 200 });
    expect((await api('PATCH', `/teams/${teamId}/members/${adminId}`, { body: { role: 'member' } })).status).toBe(200);
    expect((await api('PATCH', `/teams/${teamId}/members/${adminId}`, { body: { role: 'admin' } })).status).toBe(200);
    const unknown = await api('PATCH', `/teams/${teamId}/members/999999`, { body: { role: 'admin' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
    expect((await api('PATCH', `/teams/999999/members/${adminId}`, { body: { role: 'admin' } })).status).toBe(404);
    expect((await api('PATCH', `/teams/${teamId}/members/${adminId}`, { body: { role: 'owner' } })).status).toBe(400);
  });

  it('POST …/members/:user_id/password generates one, shown once, no-store; the person’s sessions end', async () => {
    const before = await signIn('admin@acme.test', password);
    expect(before.status).toBe(303);
    const res = await api('POST', `/teams/${teamId}/members/${adminId}/password`, { body: {} });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ user_id: adminId, email: 'admin@acme.test', sessions_ended: true });
    expect(res.body.password).toMatch(/^\S{16,}$/);
    expect((await before.browser.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await signIn('admin@acme.test', res.body.password)).status).toBe(303);
    const row = await audited('member.password.reset');
    expect(row).toMatchObject({ actor_type: 'operator', status: 200 });
    expect(JSON.stringify(row)).not.toContain(res.body.password);

    const chosen = await api('POST', `/teams/${teamId}/members/${memberId}/password`, {
      body: { password: 'Chosen-Pass-77' },
    });
    expect(chosen.status).toBe(200);
    expect(chosen.body).not.toHaveProperty('password');
    expect((await signIn('member@acme.test', 'Chosen-Pass-77')).status).toBe(303);
    const short = await api('POST', `/teams/${teamId}/members/${memberId}/password`, { body: { password: 'short' } });
    expect(short.status).toBe(400);
    expect((await api('POST', `/teams/${teamId}/members/999999/password`, { body: {} })).status).toBe(404);
  });

  it('DELETE …/members/:user_id removes a person; unknown person 404; the last admin 409', async () => {
    const extra = await server.keyport.teamService.addPerson({ teamId, email: 'temp@acme.test', password });
    expect((await api('DELETE', `/teams/${teamId}/members/${extra.id}`)).status).toBe(204);
    expect(await audited('member.remove')).toMatchObject({ actor_type: 'operator', status: 204 });
    expect((await api('DELETE', `/teams/${teamId}/members/${extra.id}`)).status).toBe(404);
    // member@ is an admin too now; demote it, and admin@ is the last admin.
    await api('PATCH', `/teams/${teamId}/members/${memberId}`, { body: { role: 'member' } });
    const last = await api('DELETE', `/teams/${teamId}/members/${adminId}`);
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('last_admin');
  });

  it('the OpenAPI document declares each route', async () => {
    const doc = (await api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/teams']!)).toContain('get');
    expect(Object.keys(doc.paths['/api/teams/{team}']!)).toContain('patch');
    expect(Object.keys(doc.paths['/api/teams/{team}/members']!)).toContain('get');
    expect(Object.keys(doc.paths['/api/teams/{team}/members/{user_id}']!).sort()).toEqual(['delete', 'patch']);
    expect(Object.keys(doc.paths['/api/teams/{team}/members/{user_id}/password']!)).toContain('post');
  });

  it("the team's audit page tells the operator's changes in words, naming the person by email", async () => {
    const other = (await server.keyport.teamService.createTeam({ name: 'Words', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId: other, email: 'owner@words.test', password, role: 'admin' });
    const bob = await server.keyport.teamService.addPerson({
      teamId: other,
      email: 'bob@words.test',
      password,
      role: 'member',
    });
    expect((await api('PATCH', `/teams/${other}`, { body: { plan: 'enterprise' } })).status).toBe(200);
    expect((await api('PATCH', `/teams/${other}/members/${bob.id}`, { body: { role: 'admin' } })).status).toBe(200);
    expect((await api('POST', `/teams/${other}/members/${bob.id}/password`, { body: {} })).status).toBe(200);
    expect((await api('DELETE', `/teams/${other}/members/${bob.id}`)).status).toBe(204);
    const { browser } = await signIn('owner@words.test', password);
    const page = (await browser.request('/dashboard/audit')).text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(page).toContain("changed the team's plan to enterprise (it was pro)");
    expect(page).toContain('made bob@words.test an admin');
    expect(page).toContain('reset the password of bob@words.test');
    expect(page).toContain('removed bob@words.test from the team');
    expect(page).not.toContain('member.role.change');
  });
});
