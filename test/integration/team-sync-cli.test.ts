import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

/** Issue 26 item 3: teamsync, teamsuspend, membersync and memberremove do what the sync API does, audited as the CLI. */
describe.each(DATABASES)('team and people sync commands on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;

  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const refused = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code).toBe(1);
    return JSON.parse(result.stdout) as { error: string; message: string };
  };
  const auditActions = async (teamId: unknown) =>
    (await server.keyport.db('audit_events').where({ team_id: teamId }).orderBy('id')).map((r) => r.action);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('teamsync creates, repeats without change, updates; teamsuspend stops the team’s keys and teamsync resumes them', async () => {
    const made = await json('teamsync', '-external-id', 'org_cli', '-name', 'Cli Co', '-plan', 'pro');
    expect(made).toMatchObject({ external_id: 'org_cli', name: 'Cli Co', plan: 'pro', outcome: 'created' });
    const teamId = made.team_id as number;
    const again = await json('teamsync', '-external-id', 'org_cli', '-name', 'Cli Co', '-plan', 'pro');
    expect(again).toMatchObject({ team_id: teamId, outcome: 'unchanged' });
    expect(await auditActions(teamId)).toEqual(['team.sync']);
    expect(await json('teamsync', '-external-id', 'org_cli', '-name', 'Cli Co 2', '-plan', 'pro')).toMatchObject({
      outcome: 'updated',
      name: 'Cli Co 2',
    });
    expect((await refused('teamsync', '-external-id', 'org_cli', '-name', 'X', '-plan', 'platinum')).error).toBe(
      'invalid_request',
    );
    expect((await refused('teamsync', '-external-id', 'has space', '-name', 'X', '-plan', 'pro')).error).toBe(
      'invalid_request',
    );

    const sa = await server.keyport.clientService.createServiceAccount({ teamId, name: 'ci' });
    const token = () =>
      postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(sa.client.client_id, sa.clientSecret!) },
      );
    expect((await token()).status).toBe(200);
    expect(await json('teamsuspend', '-external-id', 'org_cli')).toMatchObject({ suspended: true, outcome: 'updated' });
    expect((await token()).body).toMatchObject({ error: 'unauthorized_client' });
    expect(await json('teamsuspend', '-external-id', 'org_cli')).toMatchObject({ outcome: 'unchanged' });
    // teamlist shows the product's id and the suspension, in JSON and in words.
    expect((await json('teamlist')).data).toContainEqual(
      expect.objectContaining({ team_id: teamId, external_id: 'org_cli', suspended: true }),
    );
    expect((await runCli(env, 'teamlist')).stdout).toMatch(
      new RegExp(`${teamId}\\s+pro\\s+Cli Co 2\\s+org_cli\\s+suspended`),
    );
    expect(await json('teamsync', '-external-id', 'org_cli', '-name', 'Cli Co 2', '-plan', 'pro')).toMatchObject({
      suspended: false,
      outcome: 'updated',
    });
    expect((await token()).status).toBe(200);
    expect(await auditActions(teamId)).toEqual(['team.sync', 'team.sync', 'team.suspend', 'team.sync']);
  });

  it('membersync creates and updates a person without a password; memberremove removes them, twice is no change', async () => {
    const { team_id: teamId } = await json('teamsync', '-external-id', 'org_people', '-name', 'P', '-plan', 'pro');
    const base = ['-team-external-id', 'org_people', '-external-id', 'u_1'];
    const made = await json('membersync', ...base, '-email', 'one@p.test', '-role', 'admin');
    expect(made).toMatchObject({
      team_id: teamId,
      external_id: 'u_1',
      email: 'one@p.test',
      role: 'admin',
      has_password: false,
      outcome: 'created',
    });
    expect(await json('membersync', ...base, '-email', 'one@p.test', '-role', 'admin')).toMatchObject({
      outcome: 'unchanged',
    });
    await json(
      'membersync',
      '-team-external-id',
      'org_people',
      '-external-id',
      'u_2',
      '-email',
      'two@p.test',
      '-role',
      'admin',
    );
    expect(await json('membersync', ...base, '-email', 'uno@p.test', '-role', 'member')).toMatchObject({
      user_id: made.user_id,
      email: 'uno@p.test',
      role: 'member',
      outcome: 'updated',
    });
    expect((await refused('membersync', ...base, '-email', 'uno@p.test', '-role', 'owner')).error).toBe(
      'invalid_request',
    );
    expect(
      (
        await refused(
          'membersync',
          '-team-external-id',
          'org_none',
          '-external-id',
          'u',
          '-email',
          'a@b.test',
          '-role',
          'admin',
        )
      ).error,
    ).toBe('not_found');
    expect(await json('memberremove', ...base)).toMatchObject({ user_id: made.user_id, outcome: 'updated' });
    expect(await json('memberremove', ...base)).toMatchObject({ outcome: 'unchanged' });
    expect(await auditActions(teamId)).toEqual([
      'team.sync',
      'member.sync',
      'member.sync',
      'member.sync',
      'member.remove',
    ]);
  });
});
