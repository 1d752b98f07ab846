import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 27, item 1: the gateway check (`keyport-guard serve`) behind real
 * nginx (Debian's package) `auth_request`, in front of a hello API in Python
 * that has no protection of its own. The nginx configuration is the one
 * docs/gateway.md gives, read from that page (its ports replaced).
 */
const ROOT = join(import.meta.dirname, '../..');
const NGINX = '/usr/sbin/nginx';

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a child process and waits for a line matching `ready` on its stdout. */
async function started(command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const found = ready.exec(out);
      if (found) resolve(found);
    });
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}): ${err}${out}`)));
    child.on('error', reject);
  });
  return { child, match, stderr: () => err };
}

/** The nginx configuration docs/gateway.md gives, for these ports. */
function documentedNginx(ports: { listen: number; api: number; check: number }): string {
  const page = readFileSync(join(ROOT, 'docs/gateway.md'), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(page);
  if (!block) throw new Error('docs/gateway.md has no nginx configuration');
  return block[1]!
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.listen}`)
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${ports.api}`)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${ports.check}`);
}

const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;

describe('the gateway check behind nginx auth_request, in front of a Python API', () => {
  let keyport: TestServer;
  let keyportClosed = false;
  let gateway: ChildProcess;
  let api: ChildProcess;
  let nginx: ChildProcess;
  let front = '';
  let teamId: number;
  const children: ChildProcess[] = [];

  const newKey = async (scopes = ['api:read', 'api:write'], team = teamId) => {
    const created = await keyport.keyport.clientService.createServiceAccount({ teamId: team, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const call = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await fetch(`${front}${path}`, { method, headers });
    const text = await res.text();
    let body: Record<string, any>;
    try {
      body = JSON.parse(text);
    } catch {
      body = { text };
    }
    return { status: res.status, headers: res.headers, body };
  };

  beforeAll(async () => {
    const { url } = await sqlite.create();
    keyport = await startServer(url, {
      plans: {
        pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
        // 3 in every window: five calls straddling a minute's end still meet the limit.
        tiny: { api_access: true, max_keys: 10, rate_limits: [3, 3, 3] },
      },
    });
    teamId = (await keyport.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const rs = await keyport.keyport.clientService.createResourceServer({ name: 'hello-behind-nginx' });

    const dir = mkdtempSync(join(tmpdir(), 'keyport-gateway-nginx-'));
    const routes = join(dir, 'routes.json');
    writeFileSync(routes, JSON.stringify([{ method: 'POST', path: '/runs', scopes: ['api:write'] }]));
    const check = await started(
      process.execPath,
      [
        join(ROOT, 'packages/guard/bin/keyport-guard.js'),
        'serve',
        '--issuer',
        keyport.url,
        '--listen',
        '127.0.0.1:0',
        '--routes',
        routes,
      ],
      /listening on http:\/\/127\.0\.0\.1:(\d+)/,
      { ...process.env, KEYPORT_CLIENT_ID: rs.client.client_id, KEYPORT_CLIENT_SECRET: rs.clientSecret! },
    );
    gateway = check.child;
    children.push(gateway);

    const apiPort = await freePort();
    api = (await started('python3', [join(ROOT, 'test/clients/echo_api.py'), String(apiPort)], /listening/)).child;
    children.push(api);

    const listen = await freePort();
    const prefix = join(dir, 'nginx');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
    writeFileSync(
      join(prefix, 'nginx.conf'),
      [
        // As the current user (root here runs its workers as root, not nobody), never the system nginx.
        process.getuid?.() === 0 ? 'user root;' : '',
        'worker_processes 1;',
        `pid ${join(prefix, 'nginx.pid')};`,
        `error_log ${join(prefix, 'logs/error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        'access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp),
        documentedNginx({ listen, api: apiPort, check: Number(check.match[1]) }),
        '}',
      ].join('\n'),
    );
    nginx = spawn(
      NGINX,
      ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'],
      { stdio: 'ignore' },
    );
    children.push(nginx);
    front = `http://127.0.0.1:${listen}`;
    for (let i = 0; i < 200; i++) {
      if (nginx.exitCode !== null) throw new Error(readFileSync(join(prefix, 'logs/error.log'), 'utf8'));
      const up = await fetch(`${front}/`).then(
        () => true,
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  afterAll(async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    if (!keyportClosed) await keyport?.close();
  });

  it('a valid key reaches the API, which is told who calls (identity headers); the client gets X-RateLimit-*', async () => {
    const key = await newKey();
    const ways: Array<Record<string, string>> = [
      { authorization: `Bearer ${key.secret}` },
      { 'x-api-key': key.secret },
    ];
    for (const headers of ways) {
      const res = await call('/projects?page=2', headers);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        hello: 'world',
        path: '/projects?page=2',
        identity: {
          'X-Keyport-Team-Id': String(teamId),
          'X-Keyport-Client-Id': key.id,
          'X-Keyport-Environment': 'prod',
          'X-Keyport-Scopes': 'api:read api:write',
        },
      });
      expect(res.headers.get('x-ratelimit-limit')).toBe('100000');
      expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(100_000);
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    }
  });

  it("identity headers a client sends itself never reach the API: the check's replace them", async () => {
    const key = await newKey(['api:read']);
    const res = await call('/projects', {
      authorization: `Bearer ${key.secret}`,
      'x-keyport-team-id': '999999',
      'x-keyport-scopes': 'api:admin',
    });
    expect(res.status).toBe(200);
    expect(res.body.identity).toMatchObject({ 'X-Keyport-Team-Id': String(teamId), 'X-Keyport-Scopes': 'api:read' });
    expect((await call('/projects', { 'x-keyport-team-id': '999999' })).status).toBe(401);
  });

  it("an unknown key, or none, gets the contract's 401 and body; the API never sees the call", async () => {
    const unknown: Array<Record<string, string>> = [
      { authorization: 'Bearer bugbrain_sk_prod_unknownunknownunknownunkn' },
      { 'x-api-key': 'not-a-key-keyport-issued' },
      {},
    ];
    for (const headers of unknown) {
      const res = await call('/projects', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: 'invalid_api_key', message: 'API key is invalid or expired' });
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('a key in the URL gets 400 invalid_request', async () => {
    const key = await newKey();
    const res = await call(`/projects?api_key=${key.secret}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request' });
  });

  it('scopes per route: from the --routes table and from the header nginx sets', async () => {
    const reader = await newKey(['api:read']);
    const writer = await newKey(['api:read', 'api:write']);
    const denied = await call('/runs', { authorization: `Bearer ${reader.secret}` }, 'POST');
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      error: 'insufficient_permissions',
      message: 'this call needs the scopes: api:write',
    });
    expect(denied.headers.get('x-ratelimit-limit')).toBe('100000');
    expect((await call('/runs', { authorization: `Bearer ${writer.secret}` }, 'POST')).status).toBe(200);
    // GET /runs is not in the table: any API scope will do.
    expect((await call('/runs', { authorization: `Bearer ${reader.secret}` })).status).toBe(200);
    // /admin/ needs api:admin, from X-Keyport-Required-Scopes set in nginx's configuration.
    const admin = await call('/admin/users', { authorization: `Bearer ${writer.secret}` });
    expect(admin.status).toBe(403);
    expect(admin.body.message).toBe('this call needs the scopes: api:admin');
  });

  it('a key over its rate limit gets 429 with Retry-After and the contract body', async () => {
    const tiny = (await keyport.keyport.teamService.createTeam({ name: 'Tiny', plan: 'tiny' })).id;
    const key = await newKey(['api:read'], tiny);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await call('/projects', { authorization: `Bearer ${key.secret}` }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    const limited = answers[3]!;
    expect(limited.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(limited.headers.get('retry-after')).toBe(String(limited.body.retry_after));
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('a revoked key, busy a moment before (leased), is refused within a second', async () => {
    const key = await newKey();
    const headers = { authorization: `Bearer ${key.secret}` };
    for (let i = 0; i < 30; i++) expect((await call('/projects', headers)).status).toBe(200);
    await keyport.keyport.clientService.revoke(key.id);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 5000) status = (await call('/projects', headers)).status;
    const felt = Date.now() - revokedAt;
    expect(status).toBe(401);
    expect(felt).toBeLessThan(1000);
  });

  it('keyport stopped: 503 with the contract body, never let through', async () => {
    const key = await newKey();
    const headers = { authorization: `Bearer ${key.secret}` };
    for (let i = 0; i < 30; i++) expect((await call('/projects', headers)).status).toBe(200);
    await keyport.close();
    keyportClosed = true;
    const res = await call('/projects', headers);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: 'service_unavailable',
      message: 'API key verification is unavailable; try again',
    });
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('the gateway check itself stopped: nginx answers 503 too, never lets the call through', async () => {
    gateway.kill('SIGTERM');
    await once(gateway, 'exit');
    const res = await call('/projects', { authorization: 'Bearer anything' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'service_unavailable' });
  });
});
