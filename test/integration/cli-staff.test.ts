import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { CLI, runCli } from '../helpers/cli.js';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';

/** `staffadd`, `staffdisable`, `stafflist` (issue 29 item 1) on every database. */
describe.each(DATABASES)('staff CLI on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;
  let db: Db;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-staff-'));
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys') };
    db = createDb(created.url);
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  it('staffadd prints a generated password once and stores only its bcrypt hash', async () => {
    const res = await runCli(env, 'staffadd', '-email', 'Ana@Example.com', '-role', 'support', '-json');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { email: string; role: string; password: string };
    expect(out).toMatchObject({ email: 'ana@example.com', role: 'support' });
    const row = await db('staff_accounts').where({ email: 'ana@example.com' }).first();
    expect(row.password_hash).not.toContain(out.password);
    expect(await bcrypt.compare(out.password, row.password_hash)).toBe(true);
    expect(row.totp_sealed).toBeNull();
  });

  it('staffadd refuses an unknown role and a second account for the same email, writing nothing', async () => {
    const role = await runCli(env, 'staffadd', '-email', 'bo@example.com', '-role', 'owner', '-json');
    expect(role.code).toBe(1);
    expect(JSON.parse(role.stdout)).toMatchObject({ error: 'invalid_request' });
    const twice = await runCli(env, 'staffadd', '-email', 'ana@example.com', '-role', 'admin', '-json');
    expect(twice.code).toBe(1);
    expect(JSON.parse(twice.stdout)).toMatchObject({ error: 'conflict' });
    expect(await db('staff_accounts').where({ email: 'bo@example.com' }).first()).toBeUndefined();
    expect((await db('staff_accounts').where({ email: 'ana@example.com' }).first()).role).toBe('support');
  });

  it('staffdisable marks the account disabled and stafflist shows it', async () => {
    const res = await runCli(env, 'staffdisable', '-email', 'ana@example.com', '-json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ disabled: true });
    const list = JSON.parse((await runCli(env, 'stafflist', '-json')).stdout) as {
      staff: Array<{ email: string; disabled: boolean }>;
    };
    expect(list.staff).toEqual([expect.objectContaining({ email: 'ana@example.com', disabled: true })]);
    // Without -json: a line per account, its fields as name=value (it printed "staff: [object Object]").
    const text = await runCli(env, 'stafflist');
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('[object Object]');
    expect(text.stdout).toMatch(
      /^staff:\n {2}staff_id=\d+ email=ana@example\.com role=\w+ enrolled=false disabled=true$/m,
    );
  });

  it('a reader that stops early (`stafflist | head -0`) ends the command quietly: no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [CLI, 'stafflist'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The read end is closed before the command writes a line: its write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
