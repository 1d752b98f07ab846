import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

const PASSWORD = 'Dashboard-Perms-1';

/**
 * Issue 28 item 2 in the dashboard: a team's admins make, change and delete the team's
 * roles, and give a key roles and permissions of its own; a member only looks. Every rule
 * is the role and client services' (the same refusals as the admin API), and a role's
 * change reaches its keys at /keys/verify at once.
 */
describe.each(DATABASES)('roles and permissions in the dashboard on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let otherTeam: number;
  let rs: { id: string; secret: string };

  async function signIn(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email, password: PASSWORD },
    });
    expect(res.status).toBe(303);
    const page = await browser.request('/dashboard/roles');
    expect(page.status).toBe(200);
    return { browser, csrf: csrfOf(page.text), page: page.text };
  }

  const teamRoles = (team: number) =>
    server.keyport.db('team_roles').where({ team_id: team }).orderBy('id').select('id', 'name', 'permissions');
  const auditOf = (action: string) =>
    server.keyport.db('audit_events').where({ team_id: teamId, action }).orderBy('id', 'desc').first();
  const verify = async (key: string, permissions: string[]) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key, permissions }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { code: string; permissions?: string[] };
  };
  const newKey = async (input: { roles?: string[]; permissions?: string[] } = {}) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, name: 'ci', ...input });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** The key's edit form as the page sends it, with `extra` fields (repeatable names allowed). */
  const editForm = (csrf: string, extra: Array<[string, string]>): Array<[string, string]> => [
    ['csrf', csrf],
    ['name', 'ci'],
    ['scopes', 'api:read'],
    ['allowed_ips', ''],
    ['meta', ''],
    ...extra,
  ];

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(
      created.url,
      {
        plans: {
          pro: { api_access: true, max_keys: 100 },
          shared: { api_access: true, max_keys: 100, limit_per: 'team', rate_limits: [7, 70, 700] },
        },
        permissions: {
          'projects:read': 'Read projects',
          'projects:write': 'Change projects',
          'test_runs:read': 'Read test runs',
          'test_runs:write': 'Report test runs',
        },
        roles: { qa_lead: { name: 'QA lead', permissions: ['projects:read', 'test_runs:*'] } },
      },
      { clock: pinnedClock },
    );
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    otherTeam = (await teamService.createTeam({ name: 'Globex', plan: 'shared' })).id;
    await teamService.addPerson({ teamId, email: 'admin@perms.test', password: PASSWORD, role: 'admin' });
    await teamService.addPerson({ teamId, email: 'member@perms.test', password: PASSWORD, role: 'member' });
    await teamService.addPerson({ teamId: otherTeam, email: 'admin@globex.test', password: PASSWORD, role: 'admin' });
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('an admin makes a role (audited, via dashboard), gives it to a key with a permission of its own; /keys/verify grants both', async () => {
    const { browser, csrf, page } = await signIn('admin@perms.test');
    // The product's roles are listed, read_only among them.
    expect(page).toContain('id="role-read_only"');
    expect(page).toContain('id="role-qa_lead"');

    const made = await browser.request('/dashboard/roles', {
      form: { csrf, name: 'Reporter', permissions: 'test_runs:write\ntest_runs:read' },
    });
    expect(made.status).toBe(303);
    const [role] = await teamRoles(teamId);
    expect(role).toMatchObject({ name: 'Reporter' });
    const roleId = String(role.id);
    const audited = await auditOf('role.create');
    expect(audited.actor_type).toBe('person');
    expect(JSON.parse(audited.details)).toMatchObject({ role_id: roleId, via: 'dashboard' });

    const key = await newKey();
    const keyPage = await browser.request(`/dashboard/keys/${key.id}`);
    expect(keyPage.text).toContain(`name="roles" value="${roleId}"`);
    const saved = await browser.request(`/dashboard/keys/${key.id}/edit`, {
      form: editForm(csrf, [
        ['roles_field', '1'],
        ['roles', roleId],
        ['roles', 'qa_lead'],
        ['permissions', 'projects:write'],
      ]),
    });
    expect(saved.status).toBe(303);
    const stored = await server.keyport.clientService.get(key.id);
    expect([...stored.roles].sort()).toEqual([roleId, 'qa_lead'].sort());
    expect(stored.permissions).toEqual(['projects:write']);
    const shown = await browser.request(`/dashboard/keys/${key.id}`);
    expect(shown.text).toMatch(/<dd id="roles">[^<]*Reporter/);
    expect(shown.text).toMatch(/<dd id="permissions"><code>projects:write<\/code>/);

    const answer = await verify(key.secret, ['test_runs:write', 'projects:write']);
    expect(answer.code).toBe('VALID');
    expect(answer.permissions).toEqual([
      'projects:read',
      'projects:write',
      'test_runs:*',
      'test_runs:read',
      'test_runs:write',
    ]);
  });

  it('a role changed in the dashboard changes its keys at once; deleted, its keys lose it', async () => {
    const { browser, csrf } = await signIn('admin@perms.test');
    await browser.request('/dashboard/roles', { form: { csrf, name: 'Writer', permissions: 'projects:write' } });
    const roleId = String((await teamRoles(teamId)).find((r) => r.name === 'Writer')!.id);
    const key = await newKey({ roles: [roleId] });
    expect((await verify(key.secret, ['projects:write'])).code).toBe('VALID');

    const changed = await browser.request(`/dashboard/roles/${roleId}`, {
      form: { csrf, name: 'Reader', permissions: 'projects:read' },
    });
    expect(changed.status).toBe(303);
    expect((await verify(key.secret, ['projects:write'])).code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await verify(key.secret, ['projects:read'])).code).toBe('VALID');
    expect(JSON.parse((await auditOf('role.update')).details)).toMatchObject({ role_id: roleId, via: 'dashboard' });

    const removed = await browser.request(`/dashboard/roles/${roleId}/delete`, { form: { csrf } });
    expect(removed.status).toBe(303);
    expect((await teamRoles(teamId)).some((r) => String(r.id) === roleId)).toBe(false);
    expect((await server.keyport.clientService.get(key.id)).roles).toEqual([]);
    expect((await verify(key.secret, ['projects:read'])).code).toBe('INSUFFICIENT_PERMISSIONS');
    expect(JSON.parse((await auditOf('role.remove')).details)).toMatchObject({ role_id: roleId, via: 'dashboard' });
  });

  it('refusals change nothing: a bad permission, an unknown role on a key, a product role, another team’s role, a member, no CSRF', async () => {
    const admin = await signIn('admin@perms.test');
    const before = await teamRoles(teamId);

    // A permission outside the catalogue: 400 on the page, naming it, with what was typed.
    const bad = await admin.browser.request('/dashboard/roles', {
      form: { csrf: admin.csrf, name: 'Oops', permissions: 'billing:read' },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="new-role-error"');
    expect(bad.text).toContain('billing:read');
    expect(bad.text).toContain('value="Oops"');
    expect(await teamRoles(teamId)).toEqual(before);

    // A key given a role that does not exist, or another team's: 400 naming roles.0, nothing stored.
    const key = await newKey({ permissions: ['projects:read'] });
    const foreign = await server.keyport.roles.create(otherTeam, { name: 'Theirs', permissions: ['projects:write'] });
    for (const roleId of ['9999999', foreign.id]) {
      const refused = await admin.browser.request(`/dashboard/keys/${key.id}/edit`, {
        form: editForm(admin.csrf, [
          ['roles_field', '1'],
          ['roles', roleId],
        ]),
      });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('roles.0');
      const stored = await server.keyport.clientService.get(key.id);
      expect(stored.roles).toEqual([]);
      expect(stored.permissions).toEqual(['projects:read']);
    }
    // A permission not in the catalogue on a key: 400 naming permissions.0.
    const badPermission = await admin.browser.request(`/dashboard/keys/${key.id}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ['permissions', 'billing:read'],
      ]),
    });
    expect(badPermission.status).toBe(400);
    expect(badPermission.text).toContain('permissions.0');
    expect((await server.keyport.clientService.get(key.id)).permissions).toEqual(['projects:read']);

    // A form without the fields (an older page) leaves roles and permissions alone.
    const older = await admin.browser.request(`/dashboard/keys/${key.id}/edit`, { form: editForm(admin.csrf, []) });
    expect(older.status).toBe(303);
    expect((await server.keyport.clientService.get(key.id)).permissions).toEqual(['projects:read']);

    // The product's role cannot be changed or deleted from a team: 403; another team's role: 404.
    const product = await admin.browser.request('/dashboard/roles/read_only', {
      form: { csrf: admin.csrf, name: 'Everything', permissions: 'projects:write' },
    });
    expect(product.status).toBe(403);
    expect(
      (await admin.browser.request('/dashboard/roles/qa_lead/delete', { form: { csrf: admin.csrf } })).status,
    ).toBe(403);
    const theirs = await admin.browser.request(`/dashboard/roles/${foreign.id}`, {
      form: { csrf: admin.csrf, name: 'Mine now', permissions: 'projects:read' },
    });
    expect(theirs.status).toBe(404);
    expect(
      (await admin.browser.request(`/dashboard/roles/${foreign.id}/delete`, { form: { csrf: admin.csrf } })).status,
    ).toBe(404);
    expect((await teamRoles(otherTeam)).map((r) => r.name)).toEqual(['Theirs']);

    // A member sees the roles but no form, and may not change them.
    const member = await signIn('member@perms.test');
    expect(member.page).toContain('id="role-read_only"');
    expect(member.page).not.toContain('id="create-role"');
    const byMember = await member.browser.request('/dashboard/roles', {
      form: { csrf: member.csrf, name: 'Sneaky', permissions: 'projects:write' },
    });
    expect(byMember.status).toBe(403);

    // Without the CSRF token of the session: 403, nothing made.
    const forged = await admin.browser.request('/dashboard/roles', { form: { name: 'Forged', permissions: '' } });
    expect(forged.status).toBe(403);
    expect(await teamRoles(teamId)).toEqual(before);
  });

  it('the keys page says when the plan’s limits are shared by the team’s keys', async () => {
    const own = await signIn('admin@perms.test');
    expect((await own.browser.request('/dashboard/keys')).text).toMatch(/<span id="plan-limits">Each key may make/);
    const shared = await signIn('admin@globex.test');
    expect((await shared.browser.request('/dashboard/keys')).text).toMatch(
      /<span id="plan-limits">All of your keys together may make 7 calls a minute, 70 an hour and 700 a day/,
    );
  });
});
