import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openServices } from '../../src/services.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';

/** Issue 28 item 2 in the CLI: `-role` and `-permission` (repeatable) on create and on `clientupdate`. */
describe.each(DATABASES)('CLI -role and -permission on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let team: string;
  let teamRoleId: string;
  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, any>;
  };
  const serviceAccounts = async () =>
    (await json('userlist', '-team', team)).data.filter((m: { kind: string }) => m.kind === 'service_account');

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-cli-roles-'));
    const conf = join(dir, 'keyport.json');
    writeFileSync(
      conf,
      JSON.stringify({
        permissions: { 'projects:read': 'see projects', 'projects:write': 'change projects', 'test_runs:write': 'run' },
        roles: { tester: { name: 'Tester', permissions: ['test_runs:write'] } },
      }),
    );
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys'), KEYPORT_CONF: conf };
    team = String((await json('teamadd', '-name', 'Acme', '-plan', 'pro')).team_id);
    // A team's own role is made through the admin API; here through the same service.
    const services = await openServices(loadConfig({ env }));
    try {
      teamRoleId = (await services.roles.create(Number(team), { name: 'Editors', permissions: ['projects:*'] })).id;
    } finally {
      await services.close();
    }
  });
  afterAll(async () => {
    await drop();
  });

  it('serviceaccountadd takes roles by id or name and permissions; clientlist and clientupdate show and replace them', async () => {
    const created = await json(
      'serviceaccountadd',
      '-team',
      team,
      '-role',
      'read_only',
      '-role',
      'Editors',
      '-permission',
      'test_runs:write',
      '-permission',
      'projects:read',
    );
    expect(created.roles).toEqual(['read_only', teamRoleId]);
    expect(created.permissions).toEqual(['projects:read', 'test_runs:write']);
    const id = created.client_id as string;

    const listed = (await json('clientlist', '-team', team)).data.find(
      (c: { client_id: string }) => c.client_id === id,
    );
    expect(listed.roles).toEqual(['read_only', teamRoleId]);
    expect(listed.permissions).toEqual(['projects:read', 'test_runs:write']);
    const text = await runCli(env, 'clientlist', '-team', team);
    expect(text.stdout).toContain(`roles=read_only,${teamRoleId}`);
    expect(text.stdout).toContain('permissions=projects:read,test_runs:write');

    const updated = await json('clientupdate', '-client', id, '-role', 'tester', '-permission', 'projects:*');
    expect(updated.roles).toEqual(['tester']);
    expect(updated.permissions).toEqual(['projects:*']);
    const cleared = await json('clientupdate', '-client', id, '-clear-roles', '-clear-permissions');
    expect(cleared.roles).toEqual([]);
    expect(cleared.permissions).toEqual([]);
  });

  it('appadd takes them too', async () => {
    const app = await json('appadd', '-team', team, '-name', 'partner', '-role', teamRoleId, '-permission', '*:read');
    expect(app.roles).toEqual([teamRoleId]);
    expect(app.permissions).toEqual(['*:read']);
  });

  it('an unknown role or permission: exit 1 naming it, nothing created or changed', async () => {
    const before = (await serviceAccounts()).length;
    const badRole = await runCli(env, 'serviceaccountadd', '-team', team, '-role', 'nobody', '-json');
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain('roles.0: no role "nobody" in this team');
    const badPermission = await runCli(env, 'serviceaccountadd', '-team', team, '-permission', 'billing:read', '-json');
    expect(badPermission.code).toBe(1);
    expect(badPermission.stderr).toContain('permissions.0: unknown permission "billing:read"');
    const malformed = await runCli(env, 'serviceaccountadd', '-team', team, '-permission', 'projects', '-json');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('"projects" is not resource:action');
    expect(await serviceAccounts()).toHaveLength(before);

    const key = await json('serviceaccountadd', '-team', team, '-role', 'tester');
    const refused = await runCli(env, 'clientupdate', '-client', key.client_id, '-role', 'nobody', '-json');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no role "nobody" in this team');
    const both = await runCli(env, 'clientupdate', '-client', key.client_id, '-role', 'tester', '-clear-roles');
    expect(both.code).toBe(1);
    const listed = (await json('clientlist', '-team', team)).data.find(
      (c: { client_id: string }) => c.client_id === key.client_id,
    );
    expect(listed.roles).toEqual(['tester']);
  });
});
