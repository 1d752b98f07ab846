import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { CLI, runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

/** `keyport ARGS` with `input` on stdin. */
function runWithStdin(env: NodeJS.ProcessEnv, input: string, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Issue 24 item 8: teams and people are managed with the CLI, each change audited, a running server sees it at once. */
describe.each(DATABASES)('team and people commands on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let teamId: number;
  let sa: { id: string; secret: string };
  const password = 'Team-Ops-Pass-1';

  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const refused = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code).toBe(1);
    return { ...(JSON.parse(result.stdout) as { error: string; message: string }), stderr: result.stderr };
  };
  const token = () =>
    postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic(sa.id, sa.secret) });
  async function signIn(email: string, pw: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password: pw } });
    return { browser, status: res.status };
  }
  const auditActions = async () =>
    (await server.keyport.db('audit_events').where({ team_id: teamId }).orderBy('id')).map((r) => r.action);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await teamService.createTeam({ name: 'Beta', plan: 'starter' });
    await teamService.addPerson({ teamId, email: 'admin@acme.test', password, role: 'admin' });
    await teamService.addPerson({ teamId, email: 'member@acme.test', password, role: 'member' });
    const made = await clientService.createServiceAccount({ teamId, name: 'ci' });
    sa = { id: made.client.client_id, secret: made.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('teamlist lists every team with its plan', async () => {
    const listed = await json('teamlist');
    const teams = listed.data as Array<Record<string, unknown>>;
    expect(teams).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ team_id: teamId, name: 'Acme', plan: 'pro', created_at: expect.any(String) }),
        expect.objectContaining({ name: 'Beta', plan: 'starter' }),
      ]),
    );
    const text = await runCli(env, 'teamlist');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${teamId}\\s+pro\\s+Acme`));
  });

  it('teamplan changes the plan and a running server applies its limits at once; unknown team or plan is refused', async () => {
    expect((await token()).status).toBe(200);
    expect(await json('teamplan', '-team', String(teamId), '-plan', 'starter')).toMatchObject({
      team_id: teamId,
      plan: 'starter',
      previous_plan: 'pro',
    });
    // starter has no API access: the key stops at the next request, with no restart.
    expect((await token()).body).toMatchObject({ error: 'unauthorized_client' });
    await json('teamplan', '-team', String(teamId), '-plan', 'pro');
    expect((await token()).status).toBe(200);

    expect(await refused('teamplan', '-team', '999999', '-plan', 'pro')).toMatchObject({ error: 'not_found' });
    const unknown = await refused('teamplan', '-team', String(teamId), '-plan', 'platinum');
    expect(unknown).toMatchObject({ error: 'invalid_request' });
    expect(unknown.message).toMatch(/unknown plan "platinum"; known plans: .*pro/);
    expect((await server.keyport.teamService.getTeam(teamId)).plan).toBe('pro');
  });

  it('userlist lists people and service accounts with their roles', async () => {
    const listed = await json('userlist', '-team', String(teamId));
    expect(listed.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'person', email: 'admin@acme.test', role: 'admin' }),
        expect.objectContaining({ kind: 'person', email: 'member@acme.test', role: 'member' }),
        expect.objectContaining({ kind: 'service_account', name: 'ci', client_id: sa.id, role: 'member' }),
      ]),
    );
    expect(await refused('userlist', '-team', '999999')).toMatchObject({ error: 'not_found' });
  });

  it('userrole changes a role; the last admin cannot be demoted; unknown people and roles are refused', async () => {
    const last = await refused('userrole', '-team', String(teamId), '-email', 'admin@acme.test', '-role', 'member');
    expect(last.error).toBe('last_admin');
    expect(last.stderr).toMatch(/last admin/);
    expect(
      await json('userrole', '-team', String(teamId), '-email', 'member@acme.test', '-role', 'admin'),
    ).toMatchObject({ email: 'member@acme.test', role: 'admin', previous_role: 'member' });
    // Now there are two admins: one may step down.
    await json('userrole', '-team', String(teamId), '-email', 'admin@acme.test', '-role', 'member');
    expect(
      (await server.keyport.teamService.listMembers(teamId)).find((m) => m.user.email === 'admin@acme.test')?.role,
    ).toBe('member');
    expect(
      await refused('userrole', '-team', String(teamId), '-email', 'nobody@acme.test', '-role', 'admin'),
    ).toMatchObject({ error: 'not_found' });
    expect(
      await refused('userrole', '-team', String(teamId), '-email', 'admin@acme.test', '-role', 'owner'),
    ).toMatchObject({ error: 'invalid_request' });
    await json('userrole', '-team', String(teamId), '-email', 'admin@acme.test', '-role', 'admin');
  });

  it('userpassword generates a password printed once and ends the person’s dashboard sessions', async () => {
    const before = await signIn('admin@acme.test', password);
    expect(before.status).toBe(303);
    expect((await before.browser.request('/dashboard/keys')).status).toBe(200);

    const reset = await json('userpassword', '-team', String(teamId), '-email', 'admin@acme.test');
    expect(reset).toMatchObject({ email: 'admin@acme.test', team_id: teamId, sessions_ended: true });
    expect(reset.password).toMatch(/^\S{16,}$/);
    expect((await before.browser.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await signIn('admin@acme.test', password)).status).not.toBe(303);
    expect((await signIn('admin@acme.test', reset.password as string)).status).toBe(303);
    expect(JSON.stringify(await server.keyport.db('audit_events'))).not.toContain(reset.password as string);
  });

  it('userpassword -password-stdin takes the password from stdin and prints none; a short one is refused', async () => {
    const chosen = 'Chosen-Pass-42';
    const result = await runWithStdin(
      env,
      `${chosen}\n`,
      'userpassword',
      '-team',
      String(teamId),
      '-email',
      'member@acme.test',
      '-password-stdin',
      '-json',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).not.toHaveProperty('password');
    expect((await signIn('member@acme.test', chosen)).status).toBe(303);
    const short = await runWithStdin(
      env,
      'short\n',
      'userpassword',
      '-team',
      String(teamId),
      '-email',
      'member@acme.test',
      '-password-stdin',
    );
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/password/);
    expect(await refused('userpassword', '-team', String(teamId), '-email', 'nobody@acme.test')).toMatchObject({
      error: 'not_found',
    });
  });

  it('each change is audited as the operator', async () => {
    const actions = await auditActions();
    expect(actions).toEqual(
      expect.arrayContaining(['team.plan.change', 'member.role.change', 'member.password.reset']),
    );
    const row = await server.keyport.db('audit_events').where({ team_id: teamId, action: 'team.plan.change' }).first();
    expect(row).toMatchObject({ actor_type: 'operator', actor_id: 'cli' });
  });
});
