import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, freePort, runCli } from '../helpers/cli.js';

const run = promisify(execFile);
import { basic, postForm } from '../helpers/server.js';

/** One request on a connection of its own. */
function onNewConnection(
  base: string,
  method: string,
  path: string,
  authorization?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = method === 'POST' ? 'grant_type=client_credentials' : '';
    const headers: Record<string, string | number> = authorization
      ? { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length }
      : {};
    const req = httpRequest(`${base}${path}`, { method, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('KEYPORT_WORKERS: several processes on one port and one database', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  function environment(port: number) {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-workers-'));
    return {
      PATH: process.env.PATH,
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_WORKERS: '2',
    };
  }

  it('runs N workers that all answer, and stops them all on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const env = environment(port);
    const team = JSON.parse((await runCli(env, 'teamadd', '-name', 'W', '-plan', 'pro', '-json')).stdout);
    const sa = JSON.parse((await runCli(env, 'serviceaccountadd', '-team', String(team.team_id), '-json')).stdout);

    child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    // Readiness is polled, not slept for: the test goes on as soon as the port answers.
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${base}/.well-known/openid-configuration`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout } = await run('pgrep', ['-P', String(child.pid)]);
    expect(stdout.trim().split('\n')).toHaveLength(2);

    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        postForm(
          `${base}/token`,
          { grant_type: 'client_credentials', scope: 'api:read' },
          { authorization: basic(sa.client_id, sa.client_secret) },
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));

    // A new connection per request: the primary hands connections to the workers in turn,
    // so both served some, and GET /metrics from either one holds both workers' counts.
    for (let i = 0; i < 6; i++)
      expect((await onNewConnection(base, 'POST', '/token', basic(sa.client_id, sa.client_secret))).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const metrics = await onNewConnection(base, 'GET', '/metrics');
      expect(metrics.text).toMatch(
        /^keyport_token_grants_total\{grant_type="client_credentials",outcome="success"\} 14$/m,
      );
    }

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
