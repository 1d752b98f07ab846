import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';

/** Issue 28 items 1 and 3 in the CLI: `-allow-ip` (repeatable) and `-meta JSON` on create, and `clientupdate`. */
describe.each(DATABASES)('CLI -allow-ip and -meta on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let team: string;
  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, any>;
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-cli-restrict-'));
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys') };
    team = String((await json('teamadd', '-name', 'Acme', '-plan', 'pro')).team_id);
  });
  afterAll(async () => {
    await drop();
  });

  it('serviceaccountadd -allow-ip twice -meta JSON; clientupdate replaces, -allow-anywhere clears, -meta null clears', async () => {
    const created = await json(
      'serviceaccountadd',
      '-team',
      team,
      '-allow-ip',
      '203.0.113.0/24',
      '-allow-ip',
      '2001:db8::1',
      '-meta',
      '{"customer_id":"cus_42"}',
    );
    expect(created.allowed_ips).toEqual(['203.0.113.0/24', '2001:db8::1']);
    expect(created.meta).toEqual({ customer_id: 'cus_42' });
    const id = created.client_id as string;

    const updated = await json('clientupdate', '-client', id, '-allow-ip', '198.51.100.7', '-meta', '{"tier":"gold"}');
    expect(updated.allowed_ips).toEqual(['198.51.100.7']);
    expect(updated.meta).toEqual({ tier: 'gold' });
    const cleared = await json('clientupdate', '-client', id, '-allow-anywhere', '-meta', 'null');
    expect(cleared.allowed_ips).toEqual([]);
    expect(cleared.meta).toBeNull();
  });

  it('appadd takes them too', async () => {
    const app = await json('appadd', '-team', team, '-name', 'partner', '-allow-ip', '192.0.2.1', '-meta', '{"p":1}');
    expect(app.allowed_ips).toEqual(['192.0.2.1']);
    expect(app.meta).toEqual({ p: 1 });
  });

  it('a bad address or bad JSON: exit 1 naming it, nothing created', async () => {
    const bad = await runCli(env, 'serviceaccountadd', '-team', team, '-allow-ip', '300.0.0.1', '-json');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('allowed_ips: "300.0.0.1" is not an IPv4 or IPv6 address or CIDR range');
    const badMeta = await runCli(env, 'serviceaccountadd', '-team', team, '-meta', '{nope', '-json');
    expect(badMeta.code).toBe(1);
    expect(badMeta.stderr).toContain('meta:');
    const list = await json('userlist', '-team', team);
    expect(list.data.filter((m: { kind: string }) => m.kind === 'service_account')).toHaveLength(1);
  });
});
