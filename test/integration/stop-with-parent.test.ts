import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/cli.js';

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
