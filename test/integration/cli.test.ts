import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';

const run = promisify(execFile);

describe.each(DATABASES)('operator CLI on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let db: Db;
  let drop: () => Promise<void>;
  let dir: string;

  /** Runs `keyport ARGS` as the runbook does; never throws, returns exit code and output. */
  const keyport = (...args: string[]) => runCli(env, ...args);
  const json = async (...args: string[]) => {
    const result = await keyport(...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    dir = mkdtempSync(join(tmpdir(), 'keyport-cli-'));
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys') };
    db = createDb(created.url);
  });

  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  it('runs the runbook: team, admin, service account with -json printing one object', async () => {
    const team = await json('teamadd', '-name', 'Acme', '-plan', 'pro');
    expect(team.team_id).toEqual(expect.any(Number));
    await json(
      'useradd',
      '-team',
      String(team.team_id),
      '-email',
      'ops@acme.test',
      '-password',
      'Correct-Horse-1',
      '-role',
      'admin',
    );
    const sa = await json(
      'serviceaccountadd',
      '-team',
      String(team.team_id),
      '-name',
      'ci',
      '-env',
      'dev',
      '-scope',
      'api:read api:write',
      '-expires-in-days',
      '30',
      '-requested-by',
      'ops@acme.test',
    );
    expect(sa).toMatchObject({
      kind: 'service_account',
      environment: 'dev',
      scopes: ['api:read', 'api:write'],
      team_id: team.team_id,
      is_valid: true,
    });
    expect(sa.client_id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(sa.client_secret).toMatch(/^keyport_sk_dev_[1-9A-HJ-NP-Za-km-z]{30}$/);
    expect(Date.parse(sa.expires_at as string) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const row = await db('o_auth_clients').where({ client_id: sa.client_id }).first();
    expect(row.client_secret_hash).toMatch(/^\$2b\$10\$/);
    const user = await db('users').where({ id: sa.user_id }).first();
    expect(user.kind).toBe('service_account');
  });

  it('accepts GNU-style flags as well', async () => {
    const team = await json('teamadd', '--name', 'Gnu', '--plan', 'enterprise');
    const rs = await json('resourceserveradd', '--name', 'billing-api');
    expect(team.plan).toBe('enterprise');
    expect(rs).toMatchObject({ kind: 'resource_server' });
    expect(rs.client_secret).toEqual(expect.any(String));
  });

  it('refuses a team whose plan has no API access: exit 1, a clear message, nothing written', async () => {
    const team = await json('teamadd', '-name', 'Small', '-plan', 'starter');
    const before = await db('o_auth_clients').count({ n: '*' });
    const usersBefore = await db('users').count({ n: '*' });
    const result = await keyport('serviceaccountadd', '-team', String(team.team_id));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/plan "starter" does not include API access/);
    expect(result.stdout).toBe('');
    expect(await db('o_auth_clients').count({ n: '*' })).toEqual(before);
    expect(await db('users').count({ n: '*' })).toEqual(usersBefore);
  });

  it('refuses -requested-by someone who is not an admin of the team', async () => {
    const team = await json('teamadd', '-name', 'Members', '-plan', 'pro');
    await json(
      'useradd',
      '-team',
      String(team.team_id),
      '-email',
      'member@members.test',
      '-password',
      'Correct-Horse-2',
    );
    for (const email of ['member@members.test', 'nobody@members.test']) {
      const result = await keyport('serviceaccountadd', '-team', String(team.team_id), '-requested-by', email);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/is not an admin of team/);
    }
    expect(await db('o_auth_clients').where({ team_id: team.team_id }).count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('refuses bad input with exit 1 and a message naming it', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['teamadd', '-name', 'X', '-plan', 'platinum'], /unknown plan "platinum"/],
      [['serviceaccountadd', '-team', 'abc'], /-team must be a positive whole number/],
      [['serviceaccountadd', '-team', '999999'], /team 999999 not found/],
      [['serviceaccountadd', '-team', '1', '-scope', 'root'], /unknown scope "root"/],
      [['serviceaccountadd', '-team', '1', '-env', 'staging'], /environment: must be one of prod, dev/],
      [['serviceaccountadd', '-team', '1', '-public-key', '/no/such/file'], /cannot read/],
      [['clientrevoke', '-client', 'NoSuchClient'], /not found/],
      [['teamadd', '-name', 'X'], /required option/],
      [['nosuchcommand'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const result = await keyport(...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('clientsetkey turns a secret client into private_key_jwt and refuses a private key', async () => {
    const team = await json('teamadd', '-name', 'Keys', '-plan', 'pro');
    const sa = await json('serviceaccountadd', '-team', String(team.team_id));
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = join(dir, 'pub.pem');
    const priv = join(dir, 'priv.pem');
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));

    const refused = await keyport('clientsetkey', '-client', String(sa.client_id), '-public-key', priv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/private key/);

    const changed = await json('clientsetkey', '-client', String(sa.client_id), '-public-key', pub);
    expect(changed.kind).toBe('service_account_jwt');
    const row = await db('o_auth_clients').where({ client_id: sa.client_id }).first();
    expect(row.client_secret_hash).toBeNull();
    expect(row.client_r_s_a_public_key).toContain('BEGIN PUBLIC KEY');
  });

  it('clientaddkey adds a key by kid (at most 3) and clientremovekey removes one, never the last', async () => {
    const team = await json('teamadd', '-name', 'Rotation', '-plan', 'pro');
    const files = [0, 1, 2, 3].map((i) => {
      const file = join(dir, `rot-${i}.pem`);
      writeFileSync(
        file,
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
      );
      return file;
    });
    const sa = await json('serviceaccountadd', '-team', String(team.team_id), '-public-key', files[0]!);
    const firstKid = (sa.public_key_kids as string[])[0]!;
    expect(
      await json('clientaddkey', '-client', String(sa.client_id), '-public-key', files[1]!, '-kid', 'next'),
    ).toEqual({ client_id: sa.client_id, kid: 'next' });
    const third = await json('clientaddkey', '-client', String(sa.client_id), '-public-key', files[2]!);
    expect(third.kid).toMatch(/^[\w-]{43}$/);
    const fourth = await keyport('clientaddkey', '-client', String(sa.client_id), '-public-key', files[3]!);
    expect(fourth.code).toBe(1);
    expect(fourth.stderr).toMatch(/at most 3/);

    expect((await keyport('clientremovekey', '-client', String(sa.client_id), '-kid', 'next')).code).toBe(0);
    expect((await keyport('clientremovekey', '-client', String(sa.client_id), '-kid', String(third.kid))).code).toBe(0);
    expect((await keyport('clientremovekey', '-client', String(sa.client_id), '-kid', 'no-such-kid')).code).toBe(1);
    const last = await keyport('clientremovekey', '-client', String(sa.client_id), '-kid', firstKid);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/last key/);
  });

  it('with -json, an error is also one JSON object on stdout', async () => {
    for (const args of [
      ['teamadd', '-name', 'X', '-plan', 'nope'],
      ['teamadd', '-name', 'X'],
      ['serviceaccountadd', '-team', '999999'],
    ]) {
      const result = await keyport(...args, '-json');
      expect(result.code, args.join(' ')).toBe(1);
      const lines = result.stdout.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toEqual({
        error: expect.stringMatching(/^(invalid_request|not_found)$/),
        message: expect.any(String),
      });
    }
  });

  it('appadd creates an app whose redirect defaults to the oob URN', async () => {
    const team = await json('teamadd', '-name', 'Apps', '-plan', 'pro');
    const oob = await json('appadd', '-team', String(team.team_id), '-name', 'Report builder');
    expect(oob).toMatchObject({ kind: 'app', redirect_uris: ['urn:ietf:wg:oauth:2.0:oob'] });
    expect(oob.client_secret).toEqual(expect.any(String));
    const web = await json(
      'appadd',
      '-team',
      String(team.team_id),
      '-name',
      'Web',
      '-redirect-uri',
      'https://app.example/cb',
      '-redirect-uri',
      'http://127.0.0.1:8080/cb',
    );
    expect(web.redirect_uris).toEqual(['https://app.example/cb', 'http://127.0.0.1:8080/cb']);
    const refused = await keyport(
      'appadd',
      '-team',
      String(team.team_id),
      '-name',
      'Bad',
      '-redirect-uri',
      'http://evil.example/cb',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/redirect_uris/);
  });

  it('clientrevoke marks the client invalid', async () => {
    const team = await json('teamadd', '-name', 'Revoke', '-plan', 'pro');
    const sa = await json('serviceaccountadd', '-team', String(team.team_id));
    const revoked = await json('clientrevoke', '-client', String(sa.client_id));
    expect(revoked.is_valid).toBe(false);
  });

  it('signingkeys rotate adds a key; key files are 0600 and never in the repository', async () => {
    const first = await json('signingkeys', 'rotate');
    const second = await json('signingkeys', 'rotate');
    expect(first.kid).not.toBe(second.kid);
    for (const file of readdirSync(join(dir, 'keys'))) {
      expect(statSync(join(dir, 'keys', file)).mode & 0o777, file).toBe(0o600);
    }
  });

  it('runs as `npx keyport`, the way the README calls it', async () => {
    const { stdout } = await run('npx', ['--no-install', 'keyport', 'migrate', '-json'], {
      env: { ...process.env, ...env },
      cwd: join(import.meta.dirname, '../..'),
    });
    expect(JSON.parse(stdout)).toEqual({ migrations: 'current' });
  });

  it('migrate reports the schema current', async () => {
    expect(await json('migrate')).toEqual({ migrations: 'current' });
  });
});
