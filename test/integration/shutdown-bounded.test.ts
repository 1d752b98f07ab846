import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { CLI, freePort, runCli } from '../helpers/cli.js';
import { basic, postForm } from '../helpers/server.js';

/**
 * A TCP proxy in front of a database server that can stop answering: its sockets stay
 * open and no byte passes, as when a database host hangs.
 */
async function freezableProxy(target: URL) {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    if (frozen) return client.pause();
    const upstream = connect(Number(target.port) || (target.protocol === 'mysql:' ? 3306 : 5432), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      frozen = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function startServe(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitReady(url: string, child: ChildProcess) {
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('keyport did not become ready');
}

/** Waits for `exited`, or answers 'still running' after `ms` (the stop hung). */
const exitWithin = (exited: Promise<number | null>, ms: number) =>
  Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref())]);

describe.each(DATABASES)('a stop is bounded by shutdown_timeout_seconds, on $name', (database) => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('SIGTERM ends the process by the deadline even when the database stops answering, and logs what was not written', async () => {
    const created = await database.create();
    cleanup.push(created.drop);
    const dir = mkdtempSync(join(tmpdir(), 'keyport-stop-'));
    const conf = join(dir, 'keyport.json');
    writeFileSync(conf, JSON.stringify({ shutdown_timeout_seconds: 2, usage_flush_seconds: 5, workers: 1 }));
    const proxy = database.name !== 'sqlite' ? await freezableProxy(new URL(created.url)) : undefined;
    if (proxy) cleanup.push(() => proxy.close());
    const databaseUrl = proxy
      ? Object.assign(new URL(created.url), { port: String(proxy.port) }).toString()
      : created.url;
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_CONF: conf,
      LOG_LEVEL: 'info',
    };
    const serve = startServe(env);
    cleanup.push(() => serve.child.kill('SIGKILL'));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, serve.child);

    const team = JSON.parse(
      (await runCli({ ...env, DATABASE_URL: created.url }, 'teamadd', '-name', 'Acme', '-plan', 'pro', '-json')).stdout,
    ) as { team_id: number };
    const key = JSON.parse(
      (await runCli({ ...env, DATABASE_URL: created.url }, 'serviceaccountadd', '-team', String(team.team_id), '-json'))
        .stdout,
    ) as { client_id: string; client_secret: string };
    const token = await postForm(
      `${url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(key.client_id, key.client_secret) },
    );
    expect(token.status).toBe(200);

    if (proxy) {
      proxy.freeze();
      // A request that now waits on the database forever.
      void postForm(
        `${url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(key.client_id, key.client_secret) },
      ).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
    serve.child.kill('SIGTERM');
    const code = await exitWithin(serve.exited, 20_000);
    if (proxy) {
      expect(code).toBe(1);
      const line = serve
        .output()
        .split('\n')
        .find((l) => l.includes('shutdown deadline reached before the database answered'));
      expect(line, serve.output()).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 'error', unwritten_usage: expect.any(Number) });
    } else {
      // With a database that answers, the stop writes everything and exits 0.
      expect(code).toBe(0);
      expect(serve.output()).not.toContain('shutdown deadline reached before the database answered');
    }
  }, 60_000);
});
