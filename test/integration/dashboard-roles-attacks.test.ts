import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

const PASSWORD = 'Dashboard-Roles-Attack-1';
const OPERATOR = randomBytes(24).toString('hex');

/**
 * The dashboard's roles and key permissions, attacked (docs/contract.md, "Permissions and
 * roles", Dashboard): another team's role or a malformed id is 404 and touches nothing, a
 * member or a form without this session's CSRF token is 403, what people typed is shown
 * escaped, a client's mistake is a 4xx (never a 5xx) and a refused form stores nothing and
 * audits nothing; an accepted one is audited exactly once.
 */
describe.each(DATABASES)('attacks on the dashboard roles on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let otherTeam: number;

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
  const allRoles = () => server.keyport.db('team_roles').orderBy('id').select('id', 'team_id', 'name', 'permissions');
  const auditRows = () =>
    server.keyport.db('audit_events').orderBy('id').select('id', 'team_id', 'action', 'status', 'client_id', 'details');
  const keyRow = (clientId: string) =>
    server.keyport.db('o_auth_clients').where({ client_id: clientId }).first('roles', 'permissions', 'scopes', 'name');
  const newKey = async (team: number, input: { roles?: string[]; permissions?: string[] } = {}) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId: team, name: 'ci', ...input });
    return created.client.client_id;
  };
  const editForm = (csrf: string, extra: Array<[string, string]>): Array<[string, string]> => [
    ['csrf', csrf],
    ['name', 'ci'],
    ['scopes', 'api:read'],
    ['allowed_ips', ''],
    ['meta', ''],
    ...extra,
  ];
  /** Everything a refused request could have changed. */
  const snapshot = async (clientIds: string[] = []) => ({
    roles: await allRoles(),
    audit: await auditRows(),
    keys: await Promise.all(clientIds.map(keyRow)),
  });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 100 } },
      permissions: {
        'projects:read': 'Read projects',
        'projects:write': 'Change projects',
        'test_runs:read': 'Read test runs',
        'test_runs:write': 'Report test runs',
      },
      roles: { qa_lead: { name: 'QA lead', permissions: ['projects:read', 'test_runs:*'] } },
    });
    const { teamService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    otherTeam = (await teamService.createTeam({ name: 'Globex', plan: 'pro' })).id;
    await teamService.addPerson({ teamId, email: 'admin@attack.test', password: PASSWORD, role: 'admin' });
    await teamService.addPerson({ teamId, email: 'member@attack.test', password: PASSWORD, role: 'member' });
    await teamService.addPerson({ teamId: otherTeam, email: 'admin@globex.test', password: PASSWORD, role: 'admin' });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("another team's role, or an id that names no role, is 404 on change and delete, and nothing changes", async () => {
    const admin = await signIn('admin@attack.test');
    const mine = await server.keyport.roles.create(teamId, { name: 'Mine', permissions: ['projects:read'] });
    const theirs = await server.keyport.roles.create(otherTeam, { name: 'Theirs', permissions: ['projects:write'] });
    const before = await snapshot();
    const ids = [
      theirs.id,
      '0',
      '-1',
      '1e3',
      '%20' + mine.id,
      mine.id + '%20',
      '0' + mine.id,
      '+' + mine.id,
      mine.id + '.0',
      '0x' + mine.id,
      '9999999999',
      '99999999999999999999',
      '1'.repeat(4000),
      '%2E%2E%2F' + mine.id,
      mine.id + '%2F..',
      '%00',
      'constructor',
      '__proto__',
    ];
    for (const id of ids) {
      const changed = await admin.browser.request(`/dashboard/roles/${id}`, {
        form: { csrf: admin.csrf, name: 'Hijacked', permissions: 'projects:write' },
      });
      expect({ id, status: changed.status }).toEqual({ id, status: 404 });
      const deleted = await admin.browser.request(`/dashboard/roles/${id}/delete`, { form: { csrf: admin.csrf } });
      expect({ id, status: deleted.status }).toEqual({ id, status: 404 });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a key given a role id that names no role of the team is 400 naming roles.0, never a 5xx, and nothing is stored', async () => {
    const admin = await signIn('admin@attack.test');
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    const theirs = await server.keyport.roles.create(otherTeam, {
      name: 'Theirs too',
      permissions: ['projects:write'],
    });
    const before = await snapshot([key]);
    for (const id of [
      theirs.id,
      '0',
      '-1',
      '1e3',
      ' 1',
      '01',
      '9999999999',
      '99999999999999999999',
      '1'.repeat(4000),
      '',
    ]) {
      const res = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
        form: editForm(admin.csrf, [
          ['roles_field', '1'],
          ['roles', id],
          ['permissions', 'projects:read'],
        ]),
      });
      // An empty value is no role at all: the form then says "no roles", which is allowed.
      if (id === '') continue;
      expect({ id: id.slice(0, 20), status: res.status }).toEqual({ id: id.slice(0, 20), status: 400 });
      expect(res.text).toContain('roles.0');
    }
    const after = await snapshot([key]);
    // The empty value stored no role and was audited (once); nothing else happened.
    expect(after.roles).toEqual(before.roles);
    expect(after.keys).toEqual(before.keys);
    expect(after.audit.slice(before.audit.length).map((a) => a.action)).toEqual(['client.update']);
  });

  it('a duplicate role id on a key is stored once; the unknown one after it is named by its place in the form', async () => {
    const admin = await signIn('admin@attack.test');
    const key = await newKey(teamId);
    const saved = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ['roles', 'read_only'],
        ['roles', 'read_only'],
        ['roles', 'qa_lead'],
      ]),
    });
    expect(saved.status).toBe(303);
    const stored = await server.keyport.clientService.get(key);
    expect([...stored.roles].sort()).toEqual(['qa_lead', 'read_only']);

    const refused = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ['roles', 'qa_lead'],
        ['roles', 'qa_lead'],
        ['roles', '424242'],
      ]),
    });
    expect(refused.status).toBe(400);
    // The third value of the form is the unknown one.
    expect(refused.text).toContain('roles.2');
    expect([...(await server.keyport.clientService.get(key)).roles].sort()).toEqual(['qa_lead', 'read_only']);
  });

  it("more roles than a key may hold (21 boxes, thousands of values) is 400 and the key's roles stay", async () => {
    const admin = await signIn('admin@attack.test');
    const made = [];
    for (let i = 0; i < 21; i++)
      made.push(await server.keyport.roles.create(teamId, { name: `Many ${i}`, permissions: ['projects:read'] }));
    const key = await newKey(teamId, { roles: ['qa_lead'], permissions: ['projects:read'] });
    const before = await snapshot([key]);

    // An admin checks 21 of the team's boxes: the key may hold 20.
    const many = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [['roles_field', '1'], ...made.map((r): [string, string] => ['roles', r.id])]),
    });
    expect(many.status).toBe(400);
    expect(many.text).toContain('roles');
    expect(await snapshot([key])).toEqual(before);

    // Thousands of values (under the 64 kB form limit): a 4xx, nothing changed.
    const flood = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ...Array.from({ length: 5000 }, (): [string, string] => ['roles', 'qa_lead']),
      ]),
    });
    expect(flood.status).toBeGreaterThanOrEqual(400);
    expect(flood.status).toBeLessThan(500);
    expect(await snapshot([key])).toEqual(before);
  });

  it('a form over 64 kB is 413 (a page, not a 5xx) and changes nothing', async () => {
    const admin = await signIn('admin@attack.test');
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    const role = await server.keyport.roles.create(teamId, { name: 'Big', permissions: ['projects:read'] });
    const before = await snapshot([key]);
    const big = 'projects:write\n'.repeat(5000); // 75 kB
    for (const [url, form] of [
      ['/dashboard/roles', { csrf: admin.csrf, name: 'Huge', permissions: big }],
      [`/dashboard/roles/${role.id}`, { csrf: admin.csrf, name: 'Huge', permissions: big }],
      [`/dashboard/roles/${role.id}/delete`, { csrf: admin.csrf, padding: big }],
      [
        `/dashboard/keys/${key}/edit`,
        Object.fromEntries(
          editForm(admin.csrf, [
            ['roles_field', '1'],
            ['permissions', big],
          ]),
        ),
      ],
    ] as const) {
      const res = await admin.browser.request(url, { form: form as Record<string, string> });
      expect({ url, status: res.status }).toEqual({ url, status: 413 });
    }
    expect(await snapshot([key])).toEqual(before);
  });

  it('a member changes nothing (403), even with their own valid CSRF token', async () => {
    const member = await signIn('member@attack.test');
    const role = await server.keyport.roles.create(teamId, { name: 'Guarded', permissions: ['projects:read'] });
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    const before = await snapshot([key]);
    const attempts: Array<[string, Record<string, string> | Array<[string, string]>]> = [
      ['/dashboard/roles', { csrf: member.csrf, name: 'Sneaky', permissions: 'projects:write' }],
      [`/dashboard/roles/${role.id}`, { csrf: member.csrf, name: 'Sneaky', permissions: 'projects:write' }],
      [`/dashboard/roles/${role.id}/delete`, { csrf: member.csrf }],
      [
        `/dashboard/keys/${key}/edit`,
        editForm(member.csrf, [
          ['roles_field', '1'],
          ['roles', 'qa_lead'],
          ['permissions', 'projects:write'],
        ]),
      ],
    ];
    for (const [url, form] of attempts) {
      const res = await member.browser.request(url, { form });
      expect({ url, status: res.status }).toEqual({ url, status: 403 });
    }
    expect(member.page).not.toContain(`action="/dashboard/roles/${role.id}"`);
    expect(await snapshot([key])).toEqual(before);
  });

  it("another session's CSRF token, or none, is 403 and changes nothing", async () => {
    const admin = await signIn('admin@attack.test');
    const again = await signIn('admin@attack.test');
    const globex = await signIn('admin@globex.test');
    const role = await server.keyport.roles.create(teamId, { name: 'Csrf', permissions: ['projects:read'] });
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    const before = await snapshot([key]);
    for (const csrf of [again.csrf, globex.csrf, '', 'x'.repeat(500)]) {
      const forms: Array<[string, Record<string, string> | Array<[string, string]>]> = [
        ['/dashboard/roles', { csrf, name: 'Forged', permissions: '' }],
        [`/dashboard/roles/${role.id}`, { csrf, name: 'Forged', permissions: '' }],
        [`/dashboard/roles/${role.id}/delete`, { csrf }],
        [`/dashboard/keys/${key}/edit`, editForm(csrf, [['roles_field', '1']])],
      ];
      for (const [url, form] of forms) {
        const res = await admin.browser.request(url, { form });
        expect({ url, status: res.status }).toEqual({ url, status: 403 });
      }
    }
    // No csrf field at all.
    expect((await admin.browser.request(`/dashboard/roles/${role.id}/delete`, { form: { other: '1' } })).status).toBe(
      403,
    );
    expect(await snapshot([key])).toEqual(before);
  });

  it('a bad role name (empty, spaces, over 100 characters, control or bidi characters) is 400 on the page and stores nothing', async () => {
    const admin = await signIn('admin@attack.test');
    const role = await server.keyport.roles.create(teamId, { name: 'Named', permissions: ['projects:read'] });
    const before = await snapshot();
    for (const name of [
      '',
      '   ',
      '\t\n',
      'x'.repeat(101),
      'x'.repeat(1000),
      'a\u0000b',
      'a\u0007b',
      'pay\u202Etxt',
      'a\u0085b',
    ]) {
      for (const url of ['/dashboard/roles', `/dashboard/roles/${role.id}`]) {
        const res = await admin.browser.request(url, {
          form: { csrf: admin.csrf, name, permissions: 'projects:read' },
        });
        expect({ url, name: name.slice(0, 10), status: res.status }).toEqual({
          url,
          name: name.slice(0, 10),
          status: 400,
        });
        expect(res.text).toContain('name');
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('the role name inputs allow what the service takes (100 characters), not more', async () => {
    const admin = await signIn('admin@attack.test');
    await server.keyport.roles.create(teamId, { name: 'Sized', permissions: [] });
    const page = (await admin.browser.request('/dashboard/roles')).text;
    const inputs = page.match(/<input id="(?:new-role|role-\d+)-name"[^>]*>/g) ?? [];
    expect(inputs.length).toBeGreaterThan(1);
    for (const input of inputs) expect(input).toContain('maxlength="100"');
  });

  it('what people type is escaped on the roles page, the key page and the audit page', async () => {
    const admin = await signIn('admin@attack.test');
    const evil = '<script>alert(1)</script>"\'><img src=x onerror=alert(2)>';
    const made = await admin.browser.request('/dashboard/roles', {
      form: { csrf: admin.csrf, name: evil, permissions: 'projects:read' },
    });
    expect(made.status).toBe(303);
    const role = (await teamRoles(teamId)).find((r) => r.name === evil.trim())!;
    expect(role).toBeDefined();
    const key = await newKey(teamId, { roles: [String(role.id)] });
    const rejected = await admin.browser.request(`/dashboard/roles/${role.id}`, {
      form: { csrf: admin.csrf, name: evil, permissions: `</textarea><script>alert(3)</script>` },
    });
    expect(rejected.status).toBe(400);
    const keyRejected = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ['permissions', '<script>alert(4)</script>'],
      ]),
    });
    expect(keyRejected.status).toBe(400);
    const pages = [
      (await admin.browser.request('/dashboard/roles')).text,
      rejected.text,
      keyRejected.text,
      (await admin.browser.request(`/dashboard/keys/${key}`)).text,
      (await admin.browser.request('/dashboard/audit')).text,
    ];
    for (const text of pages) {
      expect(text).not.toMatch(/<script>alert|<img src=x|<\/textarea><script/);
    }
    expect(pages[0]).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(pages[3]).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it("a revoked key's roles may be edited, and the edit does not bring the key back", async () => {
    const admin = await signIn('admin@attack.test');
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    await server.keyport.clientService.revoke(key);
    const saved = await admin.browser.request(`/dashboard/keys/${key}/edit`, {
      form: editForm(admin.csrf, [
        ['roles_field', '1'],
        ['roles', 'read_only'],
        ['permissions', 'projects:write'],
      ]),
    });
    expect(saved.status).toBe(303);
    const stored = await server.keyport.clientService.get(key);
    expect(stored.roles).toEqual(['read_only']);
    expect(stored.permissions).toEqual(['projects:write']);
    expect(stored.revokedAt).not.toBeNull();
  });

  it('the admin API answers a role id past the INT column (2^31) as one that does not exist, never a 5xx', async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${OPERATOR}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
    };
    const key = await newKey(teamId, { permissions: ['projects:read'] });
    const before = await snapshot([key]);
    for (const id of ['2147483648', '9999999999']) {
      expect((await api('PATCH', `/teams/${teamId}/roles/${id}`, { name: 'X' })).status).toBe(404);
      expect((await api('DELETE', `/teams/${teamId}/roles/${id}`)).status).toBe(404);
      const patched = await api('PATCH', `/teams/${teamId}/clients/${key}`, { roles: [id] });
      expect(patched.status).toBe(400);
      expect(JSON.stringify(patched.body)).toContain('roles.0');
      const made = await api('POST', `/teams/${teamId}/clients`, { name: 'k', scopes: ['api:read'], roles: [id] });
      expect(made.status).toBe(400);
    }
    const after = await snapshot([key]);
    expect(after.roles).toEqual(before.roles);
    expect(after.keys).toEqual(before.keys);
    // The admin API records each refusal as request.failed; nothing else happened.
    expect(new Set(after.audit.slice(before.audit.length).map((a) => a.action))).toEqual(new Set(['request.failed']));
  });

  it('each accepted change is audited exactly once, with the answer it got', async () => {
    const admin = await signIn('admin@attack.test');
    const key = await newKey(teamId);
    const start = (await auditRows()).length;
    expect(
      (
        await admin.browser.request('/dashboard/roles', {
          form: { csrf: admin.csrf, name: 'Once', permissions: 'projects:read' },
        })
      ).status,
    ).toBe(303);
    const role = (await teamRoles(teamId)).find((r) => r.name === 'Once')!;
    expect(
      (
        await admin.browser.request(`/dashboard/roles/${role.id}`, {
          form: { csrf: admin.csrf, name: 'Twice', permissions: 'projects:write' },
        })
      ).status,
    ).toBe(303);
    expect(
      (
        await admin.browser.request(`/dashboard/keys/${key}/edit`, {
          form: editForm(admin.csrf, [
            ['roles_field', '1'],
            ['roles', String(role.id)],
          ]),
        })
      ).status,
    ).toBe(303);
    expect(
      (await admin.browser.request(`/dashboard/roles/${role.id}/delete`, { form: { csrf: admin.csrf } })).status,
    ).toBe(303);
    const rows = (await auditRows()).slice(start);
    expect(rows.map((r) => [r.action, Number(r.team_id), Number(r.status)])).toEqual([
      ['role.create', teamId, 303],
      ['role.update', teamId, 303],
      ['client.update', teamId, 303],
      ['role.remove', teamId, 303],
    ]);
    for (const r of rows.filter((r) => r.action.startsWith('role.')))
      expect(JSON.parse(r.details)).toMatchObject({ role_id: String(role.id), via: 'dashboard' });
  });
});
