import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';

/** `-share` as an operator reads it: the link, when it stops working, and where it points. */
describe.each(DATABASES)('CLI -share on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let team: string;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-cli-share-'));
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys') };
    const made = await runCli(env, 'teamadd', '-name', 'Acme', '-plan', 'pro', '-json');
    expect(made.code, made.stderr).toBe(0);
    team = String((JSON.parse(made.stdout) as { team_id: number }).team_id);
  });

  afterAll(async () => {
    await drop();
  });

  it('prints the link and its expiry as lines, never [object Object]', async () => {
    const result = await runCli(
      { ...env, ISSUER: 'https://auth.acme.test' },
      'serviceaccountadd',
      '-team',
      team,
      '-name',
      'ci',
      '-share',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('[object Object]');
    expect(result.stdout).toMatch(/^share_url: https:\/\/auth\.acme\.test\/s\/[A-Za-z0-9_-]{22}#/m);
    const expiry = /^share\.expires_at: (\S+)$/m.exec(result.stdout)?.[1];
    expect(Date.parse(expiry ?? '') - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect(result.stdout).toMatch(/^share\.state: pending$/m);
    expect(result.stdout).not.toMatch(/client_secret/);
    expect(result.stderr).toBe('');
  });

  it('names the port the server uses (PORT) and warns on stderr when ISSUER is unset', async () => {
    const result = await runCli({ ...env, PORT: '8123' }, 'appadd', '-team', team, '-name', 'Portal', '-share');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^share_url: http:\/\/localhost:8123\/s\//m);
    expect(result.stderr).toMatch(/ISSUER is not set.*http:\/\/localhost:8123/);
  });

  it('does not warn without -share, where no link names the server', async () => {
    const result = await runCli(env, 'serviceaccountadd', '-team', team, '-name', 'plain');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });
});
