import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { runCli } from '../helpers/cli.js';
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
  });
});
