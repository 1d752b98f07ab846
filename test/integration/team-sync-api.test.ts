import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeThroughPages, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const password = 'Team-Sync-Pass-1';

/** Issue 26 item 3 over HTTP: the product keeps keyport's teams and people in step by its own ids, idempotently. */
describe.each(DATABASES)('team and people sync on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };

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
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const auditRows = async (teamId: number) =>
    server.keyport.db('audit_events').where({ team_id: teamId }).orderBy('id');
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return { status: res.status, body: (await res.json()) as { code: string; valid: boolean } };
  };
  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: {
        starter: { api_access: false, max_keys: 10 },
        pro: { api_access: true, max_keys: 2 },
        enterprise: { api_access: true, max_keys: 50 },
      },
    });
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('PUT /api/teams/by-external-id/:ext creates (201), updates (200), and the same call twice changes nothing', async () => {
    const created = await api('PUT', '/teams/by-external-id/org_1', { body: { name: 'Acme', plan: 'pro' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      team_id: expect.any(Number),
      external_id: 'org_1',
      name: 'Acme',
      plan: 'pro',
    });
    const teamId = created.body.team_id as number;
    expect((await auditRows(teamId)).map((r) => r.action)).toEqual(['team.sync']);

    const again = await api('PUT', '/teams/by-external-id/org_1', { body: { name: 'Acme', plan: 'pro' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);
    expect(await auditRows(teamId)).toHaveLength(1);

    const renamed = await api('PUT', '/teams/by-external-id/org_1', { body: { name: 'Acme Inc', plan: 'pro' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ team_id: teamId, name: 'Acme Inc', plan: 'pro' });
    expect(await auditRows(teamId)).toHaveLength(2);
    expect((await server.keyport.teamService.getTeam(teamId)).name).toBe('Acme Inc');
  });

  it('two PUTs of a new team at once make one team; both answer it, neither a 5xx', async () => {
    const body = { name: 'Race', plan: 'pro' };
    const answers = await Promise.all([1, 2, 3].map(() => api('PUT', '/teams/by-external-id/org_race', { body })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.team_id)).size).toBe(1);
    expect(await server.keyport.db('teams').where({ external_id: 'org_race' })).toHaveLength(1);
    const people = await Promise.all(
      [1, 2, 3].map(() =>
        api('PUT', '/teams/by-external-id/org_race/members/u_race', {
          body: { email: 'race@race.test', role: 'admin' },
        }),
      ),
    );
    expect(people.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(await server.keyport.db('team_memberships').where({ external_id: 'u_race' })).toHaveLength(1);
  });

  it('a plan change by sync applies to the team’s key limit at once', async () => {
    const { team_id: teamId } = (
      await api('PUT', '/teams/by-external-id/org_plan', { body: { name: 'P', plan: 'pro' } })
    ).body;
    for (const name of ['k1', 'k2'])
      expect((await api('POST', `/teams/${teamId}/clients`, { body: { name } })).status).toBe(201);
    expect((await api('POST', `/teams/${teamId}/clients`, { body: { name: 'k3' } })).body.error).toBe(
      'key_limit_reached',
    );
    const moved = await api('PUT', '/teams/by-external-id/org_plan', { body: { name: 'P', plan: 'enterprise' } });
    expect(moved.status).toBe(200);
    expect(moved.body.plan).toBe('enterprise');
    expect((await api('POST', `/teams/${teamId}/clients`, { body: { name: 'k3' } })).status).toBe(201);
    expect((await auditRows(teamId)).filter((r) => r.action === 'team.sync')).toHaveLength(2);
  });

  it('400 on bad bodies and ids, and nothing changes', async () => {
    for (const body of [
      {},
      { name: 'X' },
      { name: 'X', plan: 'platinum' },
      { name: '', plan: 'pro' },
      { name: 'X', plan: 'pro', extra: 1 },
    ]) {
      const res = await api('PUT', '/teams/by-external-id/org_bad', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
    expect((await api('PUT', '/teams/by-external-id/org_bad', { body: '{not json' })).status).toBe(400);
    expect(
      (await api('PUT', `/teams/by-external-id/${'x'.repeat(201)}`, { body: { name: 'X', plan: 'pro' } })).status,
    ).toBe(400);
    expect(await server.keyport.db('teams').where({ external_id: 'org_bad' }).first()).toBeUndefined();
    await api('PUT', '/teams/by-external-id/org_1', { body: { name: 'Acme Inc', plan: 'pro' } });
    const badMember = [{}, { email: 'not-an-email', role: 'member' }, { email: 'a@b.test', role: 'owner' }];
    for (const body of badMember) {
      const res = await api('PUT', '/teams/by-external-id/org_1/members/u_bad', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const unknown = await api('PUT', '/teams/by-external-id/org_none/members/u_1', {
      body: { email: 'a@b.test', role: 'member' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
  });

  it('PUT …/members/:ext_user creates, updates and repeats without change; DELETE ends the person’s tokens at once', async () => {
    const { team_id: teamId } = (
      await api('PUT', '/teams/by-external-id/org_people', { body: { name: 'People', plan: 'pro' } })
    ).body;
    const admin = await api('PUT', '/teams/by-external-id/org_people/members/u_admin', {
      body: { email: 'Admin@People.test', role: 'admin' },
    });
    expect(admin.status).toBe(201);
    expect(admin.body).toMatchObject({
      team_id: teamId,
      external_id: 'u_admin',
      email: 'admin@people.test',
      role: 'admin',
    });
    const made = await api('PUT', '/teams/by-external-id/org_people/members/u_bob', {
      body: { email: 'bob@people.test', role: 'member' },
    });
    expect(made.status).toBe(201);
    const rows = (await auditRows(teamId)).length;
    const same = await api('PUT', '/teams/by-external-id/org_people/members/u_bob', {
      body: { email: 'bob@people.test', role: 'member' },
    });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(made.body);
    expect(await auditRows(teamId)).toHaveLength(rows);

    // Synced without a password: no password sign-in until one is set.
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const refused = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'bob@people.test', password: '' },
    });
    expect(refused.status).not.toBe(303);

    const updated = await api('PUT', '/teams/by-external-id/org_people/members/u_bob', {
      body: { email: 'robert@people.test', role: 'admin' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ user_id: made.body.user_id, email: 'robert@people.test', role: 'admin' });
    expect(await auditRows(teamId)).toHaveLength(rows + 1);
    const members = (await api('GET', `/teams/${teamId}/members`)).body.data;
    expect(members).toContainEqual(
      expect.objectContaining({ user_id: made.body.user_id, role: 'admin', email: 'robert@people.test' }),
    );

    // Robert gets a password and an access token with an app of the team.
    await server.keyport.teamService.resetPassword({ teamId, person: { email: 'robert@people.test' }, password });
    const app = await server.keyport.clientService.createApp({ teamId, name: 'Reports' });
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    const params = { client_id: app.client.client_id, response_type: 'code', redirect_uri: OOB, scope: 'api:read' };
    for (const [k, v] of Object.entries({ ...params, code_challenge: challenge, code_challenge_method: 'S256' }))
      url.searchParams.set(k, v);
    const { done } = await authorizeThroughPages(
      new Browser(server.url),
      url.toString(),
      'robert@people.test',
      password,
    );
    const tokens = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code: codeOf(done.text)!, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.client.client_id, app.clientSecret!) },
    );
    expect(tokens.status).toBe(200);
    expect((await introspect(tokens.body.access_token as string)).body).toMatchObject({ active: true });

    const removed = await api('DELETE', '/teams/by-external-id/org_people/members/u_bob');
    expect(removed.status).toBe(204);
    expect((await introspect(tokens.body.access_token as string)).body).toEqual({ active: false });
    expect((await auditRows(teamId)).at(-1)).toMatchObject({ action: 'member.remove', actor_type: 'operator' });
    const count = (await auditRows(teamId)).length;
    expect((await api('DELETE', '/teams/by-external-id/org_people/members/u_bob')).status).toBe(204);
    expect(await auditRows(teamId)).toHaveLength(count);
    // The last admin stays one.
    const last = await api('DELETE', '/teams/by-external-id/org_people/members/u_admin');
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('last_admin');
  });

  it('a person keyport already has under that email is adopted: one in the team keeps their user and gets the product id; one of another team joins this one', async () => {
    const { team_id: teamId } = (
      await api('PUT', '/teams/by-external-id/org_adopt', { body: { name: 'Adopt', plan: 'pro' } })
    ).body;
    const { teamService } = server.keyport;
    const ada = await teamService.addPerson({
      teamId,
      email: 'ada@adopt.test',
      password: 'Adopt-Pass-1',
      role: 'member',
    });
    const otherTeam = (await teamService.createTeam({ name: 'Elsewhere', plan: 'pro' })).id;
    const grace = await teamService.addPerson({
      teamId: otherTeam,
      email: 'grace@adopt.test',
      password: 'Adopt-Pass-2',
      role: 'member',
    });

    // Already in the team (useradd, a hand-off or a product sign-in made them): the same user, now with the product's id.
    const adopted = await api('PUT', '/teams/by-external-id/org_adopt/members/usr_ada', {
      body: { email: 'ada@adopt.test', role: 'admin' },
    });
    expect(adopted.status).toBe(200);
    expect(adopted.body).toMatchObject({ team_id: teamId, user_id: ada.id, external_id: 'usr_ada', role: 'admin' });
    const row = await server.keyport.db('team_memberships').where({ team_id: teamId, user_id: ada.id }).first();
    expect(row).toMatchObject({ role: 'admin', external_id: 'usr_ada' });
    // The same call again changes nothing.
    expect(
      (
        await api('PUT', '/teams/by-external-id/org_adopt/members/usr_ada', {
          body: { email: 'ada@adopt.test', role: 'admin' },
        })
      ).status,
    ).toBe(200);

    // A person of another team: joins this one as the same user.
    const joined = await api('PUT', '/teams/by-external-id/org_adopt/members/usr_grace', {
      body: { email: 'grace@adopt.test', role: 'member' },
    });
    expect(joined.status).toBe(201);
    expect(joined.body).toMatchObject({ user_id: grace.id, external_id: 'usr_grace' });
    expect(await server.keyport.db('users').where({ email: 'grace@adopt.test' })).toHaveLength(1);
  });

  it('DELETE /api/teams/by-external-id/:ext suspends the team: its keys stop at once, data kept; PUT resumes it', async () => {
    const { team_id: teamId } = (
      await api('PUT', '/teams/by-external-id/org_gone', { body: { name: 'Gone', plan: 'pro' } })
    ).body;
    const key = await api('POST', `/teams/${teamId}/clients`, { body: { name: 'ci' } });
    const secret = key.body.client_secret as string;
    const clientId = key.body.client_id as string;
    expect((await verify(secret)).body.code).toBe('VALID');

    const changesBefore = (await server.keyport.db('key_events').where({ client_id: clientId })).length;
    const suspended = await api('DELETE', '/teams/by-external-id/org_gone');
    expect(suspended.status).toBe(204);
    // Guards streaming /keys/events are told the key changed, and drop what they cached.
    expect(await server.keyport.db('key_events').where({ client_id: clientId })).toHaveLength(changesBefore + 1);
    expect((await verify(secret)).body).toMatchObject({ valid: false, code: 'NO_API_ACCESS' });
    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, secret) },
    );
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('unauthorized_client');
    expect(token.body.error_description).toMatch(/suspended/);
    const create = await api('POST', `/teams/${teamId}/clients`, { body: { name: 'more' } });
    expect(create.status).toBe(403);
    expect(create.body.message).toMatch(/suspended/);
    const read = await api('PUT', '/teams/by-external-id/org_gone/members/u_x', {
      body: { email: 'x@gone.test', role: 'admin' },
    });
    expect(read.status).toBe(201);
    const rows = (await auditRows(teamId)).length;
    expect((await api('DELETE', '/teams/by-external-id/org_gone')).status).toBe(204);
    expect(await auditRows(teamId)).toHaveLength(rows);
    expect(await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first()).toBeDefined();
    expect((await api('DELETE', '/teams/by-external-id/org_never')).status).toBe(404);

    const resumed = await api('PUT', '/teams/by-external-id/org_gone', { body: { name: 'Gone', plan: 'pro' } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.suspended).toBe(false);
    expect((await verify(secret)).body.code).toBe('VALID');
  });

  it('a team’s own token is refused 403; one team’s sync never touches another team', async () => {
    const a = (await api('PUT', '/teams/by-external-id/org_a', { body: { name: 'A', plan: 'pro' } })).body;
    const b = (await api('PUT', '/teams/by-external-id/org_b', { body: { name: 'B', plan: 'pro' } })).body;
    const sa = await server.keyport.clientService.createServiceAccount({
      teamId: a.team_id,
      name: 'm',
      scopes: ['keys:manage'],
    });
    const own = (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials', scope: 'keys:manage' },
        { authorization: basic(sa.client.client_id, sa.clientSecret!) },
      )
    ).body.access_token as string;
    const calls: Array<[string, string, unknown?]> = [
      ['PUT', '/teams/by-external-id/org_a', { name: 'A2', plan: 'enterprise' }],
      ['PUT', '/teams/by-external-id/org_a/members/u_1', { email: 'one@a.test', role: 'admin' }],
      ['DELETE', '/teams/by-external-id/org_a/members/u_1'],
      ['DELETE', '/teams/by-external-id/org_a'],
    ];
    for (const [method, path, body] of calls) {
      const res = await api(method, path, { token: own, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error).toBe('insufficient_permissions');
    }
    expect((await server.keyport.teamService.getTeam(a.team_id)).name).toBe('A');

    // The same person id in two teams is two memberships; removing one leaves the other.
    await api('PUT', '/teams/by-external-id/org_a/members/u_same', { body: { email: 'same@a.test', role: 'admin' } });
    await api('PUT', '/teams/by-external-id/org_a/members/u_keep', { body: { email: 'keep@a.test', role: 'admin' } });
    await api('PUT', '/teams/by-external-id/org_b/members/u_same', { body: { email: 'same-b@b.test', role: 'admin' } });
    await api('PUT', '/teams/by-external-id/org_b/members/u_other', { body: { email: 'other@b.test', role: 'admin' } });
    expect((await api('DELETE', '/teams/by-external-id/org_a/members/u_same')).status).toBe(204);
    const bPeople = (await api('GET', `/teams/${b.team_id}/members`)).body.data.map((m: { email: string }) => m.email);
    expect(bPeople).toContain('same-b@b.test');
    expect((await api('DELETE', '/teams/by-external-id/org_a')).status).toBe(204);
    const bKey = await api('POST', `/teams/${b.team_id}/clients`, { body: { name: 'still' } });
    expect(bKey.status).toBe(201);
  });

  it("the team's audit page tells the sync's changes in words", async () => {
    const { team_id: teamId } = (
      await api('PUT', '/teams/by-external-id/org_words', { body: { name: 'Words', plan: 'pro' } })
    ).body;
    await api('PUT', '/teams/by-external-id/org_words/members/u_w', { body: { email: 'w@words.test', role: 'admin' } });
    await server.keyport.teamService.resetPassword({ teamId, person: { email: 'w@words.test' }, password });
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const signedIn = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'w@words.test', password },
    });
    expect(signedIn.status).toBe(303);
    const page = (await browser.request('/dashboard/audit')).text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(page).toContain('synced the team from the product (plan pro)');
    expect(page).toContain('synced w@words.test from the product as an admin');
  });

  it('the OpenAPI document declares the sync routes', async () => {
    const doc = (await api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/teams/by-external-id/{ext}']!).sort()).toEqual(['delete', 'put']);
    expect(Object.keys(doc.paths['/api/teams/by-external-id/{ext}/members/{ext_user}']!).sort()).toEqual([
      'delete',
      'put',
    ]);
  });
});
