import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { basic, postForm } from '../helpers/server.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/src/cli/main.js');

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('KEYPORT_WORKERS: several processes on one port and one database', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  function environment(port: number) {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-workers-'));
    return { PATH: process.env.PATH, PORT: String(port), DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, KEYS_DIR: join(dir, 'keys'), KEYPORT_WORKERS: '2' };
  }

  it('runs N workers that all answer, and stops them all on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const env = environment(port);
    const team = JSON.parse((await run(process.execPath, [CLI, 'teamadd', '-name', 'W', '-plan', 'pro', '-json'], { env })).stdout);
    const sa = JSON.parse((await run(process.execPath, [CLI, 'serviceaccountadd', '-team', String(team.team_id), '-json'], { env })).stdout);

    child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    // Readiness is polled, not slept for: the test goes on as soon as the port answers.
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${base}/.well-known/openid-configuration`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout } = await run('pgrep', ['-P', String(child.pid)]);
    expect(stdout.trim().split('\n')).toHaveLength(2);

    const answers = await Promise.all(Array.from({ length: 8 }, () => postForm(`${base}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic(sa.client_id, sa.client_secret) })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));

    const done = exited(child);
    child.kill('SIGTERM');
    expect(await done).toBe(0);
    child = undefined;
  });

  it('exits 1 instead of restarting in a loop when workers cannot start', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const { port } = blocker.address() as { port: number };
    try {
      child = spawn(process.execPath, [CLI, 'serve'], { env: environment(port), stdio: 'ignore' });
      expect(await exited(child)).toBe(1);
      child = undefined;
    } finally {
      blocker.close();
    }
  });
});
