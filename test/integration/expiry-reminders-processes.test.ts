import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, freePort } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer } from '../helpers/server.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.js';

/** `keyport serve` as its own OS process; counts the reminder passes it logs. */
function serve(env: NodeJS.ProcessEnv): { child: ChildProcess; passes: () => number; output: () => string } {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return {
    child,
    passes: () => out.split('\n').filter((line) => line.includes('"expiry reminder pass done"')).length,
    output: () => out,
  };
}

/**
 * Issue 26 item 5: two keyport processes (two pools, no shared memory) on one
 * database, each running the reminder job every second: the admins get one mail.
 */
describe.each(DATABASES)('expiry reminders from two keyport processes on $name', (database) => {
  const children: ChildProcess[] = [];
  let drop: () => Promise<void>;
  let smtp: TestSmtpServer;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    const created = await database.create();
    url = created.url;
    drop = created.drop;
    smtp = await startSmtpServer();
    dir = mkdtempSync(join(tmpdir(), 'keyport-reminders-'));
  });
  afterAll(async () => {
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null) return undefined;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      }),
    );
    await smtp?.close();
    await drop?.();
  });

  it('a key expiring in 7 days, both processes checking every second: exactly one mail, to the admins', async () => {
    const seeder = await startServer(url, { keys_dir: join(dir, 'keys') });
    const team = await seeder.keyport.teamService.createTeam({ name: 'Both', plan: 'pro' });
    for (const [email, role] of [
      ['ada@both.test', 'admin'],
      ['bob@both.test', 'admin'],
      ['cy@both.test', 'member'],
    ] as const) {
      await seeder.keyport.teamService.addPerson({ teamId: team.id, email, password: 'Reminder-Pass-1', role });
    }
    const key = await seeder.keyport.clientService.createServiceAccount({
      teamId: team.id,
      name: 'both-billing',
      expiresInDays: 7,
    });
    await seeder.close();

    const conf = join(dir, 'keyport.json');
    writeFileSync(
      conf,
      JSON.stringify({ smtp_url: smtp.url, mail_from: 'noreply@keyport.test', reminder_check_seconds: 1 }),
    );
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: url,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_CONF: conf,
      KEYPORT_WORKERS: '1',
      LOG_LEVEL: 'debug',
    };
    const served: Array<ReturnType<typeof serve>> = [];
    for (let i = 0; i < 2; i++) {
      const one = serve({ ...env, PORT: String(await freePort()) });
      children.push(one.child);
      served.push(one);
    }
    // Bounded by what each process says it did, not by a sleep: three passes each after the mail.
    await vi.waitFor(() => expect(smtp.mails.length, served.map((s) => s.output()).join('\n')).toBeGreaterThan(0), {
      timeout: 30_000,
      interval: 100,
    });
    const after = served.map((s) => s.passes());
    await vi.waitFor(() => served.forEach((s, i) => expect(s.passes()).toBeGreaterThanOrEqual(after[i]! + 3)), {
      timeout: 30_000,
      interval: 100,
    });
    const mails = smtp.mails.filter((m) => m.text.includes(key.client.client_id));
    expect(mails).toHaveLength(1);
    expect([...mails[0]!.to].sort()).toEqual(['ada@both.test', 'bob@both.test']);
  }, 90_000);
});
