import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, freePort } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '../..');
const listening = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.ok,
    () => false,
  );

async function until(check: () => Promise<boolean>, tries: number) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Issue 14, item 9: the README's start command can be stopped by Docker, systemd or a CI runner. */
describe('keyport stops with the process that started it', () => {
  for (const workers of ['1', '2']) {
    it(`SIGTERM to \`npm start\` stops keyport and frees the port (KEYPORT_WORKERS=${workers})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keyport-npm-'));
      const port = await freePort();
      const env = {
        ...process.env,
        PORT: String(port),
        KEYPORT_WORKERS: workers,
        DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        KEYS_DIR: join(dir, 'keys'),
        LOG_LEVEL: 'silent',
      };
      const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: 'ignore' });
      try {
        expect(await until(() => listening(port), 300)).toBe(true);
        npm.kill('SIGTERM');
        // npm exits without passing the signal on; keyport notices its parent is gone and drains.
        expect(await until(async () => !(await listening(port)), 300)).toBe(true);
      } finally {
        npm.kill('SIGKILL');
      }
    }, 60_000);
  }
});

/** The environment of a launch that has nothing to do with npm (no npm_* variables). */
const withoutNpm = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('npm_')));

/**
 * `nohup node dist/src/cli/main.js serve &` from a shell that then waits for a
 * line on stdin: `exitShell()` ends the shell, as a deploy script ends.
 */
async function launchedFromShell(extra: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-nohup-'));
  const port = await freePort();
  const env = {
    ...withoutNpm(process.env),
    PORT: String(port),
    DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: 'silent',
    ...extra,
  };
  const script = `nohup "${process.execPath}" "${CLI}" serve >/dev/null 2>&1 & echo $!; read done`;
  const shell = spawn('sh', ['-c', script], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const pid = Number(await new Promise<string>((resolve) => shell.stdout!.once('data', (d) => resolve(String(d)))));
  const shellGone = new Promise((resolve) => shell.once('exit', resolve));
  return {
    port,
    pid,
    async exitShell() {
      shell.stdin!.end('\n');
      await shellGone;
    },
  };
}

/** Issue 23, item 6: only `npm start` (and npx) stop keyport with their exit; any other launch keeps serving. */
describe('a plain `node … serve` outlives the shell that started it', () => {
  for (const workers of ['1', '2']) {
    it(`nohup node dist/src/cli/main.js serve & from a shell that exits keeps serving (KEYPORT_WORKERS=${workers})`, async () => {
      const kp = await launchedFromShell({ KEYPORT_WORKERS: workers });
      try {
        expect(await until(() => listening(kp.port), 300)).toBe(true);
        await kp.exitShell();
        // Its parent is gone; keyport would look every 500 ms: it must still answer two seconds on, every time.
        for (let i = 0; i < 20; i++) {
          expect(await listening(kp.port)).toBe(true);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        process.kill(kp.pid, 'SIGTERM');
      }
      // SIGTERM still stops it, as always.
      expect(await until(async () => !(await listening(kp.port)), 300)).toBe(true);
    }, 60_000);
  }

  it('KEYPORT_STOP_WITH_PARENT=true makes any launch stop with its parent', async () => {
    const kp = await launchedFromShell({ KEYPORT_WORKERS: '1', KEYPORT_STOP_WITH_PARENT: 'true' });
    try {
      expect(await until(() => listening(kp.port), 300)).toBe(true);
      await kp.exitShell();
      expect(await until(async () => !(await listening(kp.port)), 300)).toBe(true);
    } finally {
      try {
        process.kill(kp.pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  }, 60_000);
});
