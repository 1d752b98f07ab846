import { manualClock } from '../../src/clock.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

/**
 * Issue 28 item 2 at the gateway check: a route's required permissions, from
 * X-Keyport-Required-Permissions or the --routes table, are checked as the
 * guard checks them; the key's permissions go upstream in X-Keyport-Permissions.
 */
const BIN = join(import.meta.dirname, '../../packages/guard/bin/keyport-guard.js');
const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;
const OPERATOR = 'operator-token-for-the-gateway-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'keyport-gateway-perm-'));

describe('the gateway check and required permissions', () => {
  let keyport: TestServer;
  let gateway: ChildProcess;
  let check = '';
  let teamId: number;
  let rs: { id: string; secret: string };

  const newKey = async (scopes: string[], permissions: string[] = [], roles: string[] = []) => {
    const created = await keyport.keyport.clientService.createServiceAccount({ teamId, scopes, permissions, roles });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const ask = async (path: string, headers: Record<string, string>, method = 'GET') => {
    const res = await fetch(`${check}${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  };

  beforeAll(async () => {
    const { url } = await sqlite.create();
    keyport = await startServer(
      url,
      {
        plans: {
          pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
          tiny: { api_access: true, max_keys: 10, rate_limits: [1, 1000, 10_000] },
        },
        admin_token: OPERATOR,
        permissions: { 'test_runs:read': 'read runs', 'test_runs:write': 'report runs', 'projects:read': 'see' },
      },
      { clock: pinnedClock },
    );
    teamId = (await keyport.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await keyport.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    const routes = join(dir, 'routes.json');
    writeFileSync(routes, JSON.stringify([{ method: 'POST', path: '/runs', permissions: ['test_runs:write'] }]));
    gateway = spawn(
      process.execPath,
      [BIN, 'serve', '--issuer', keyport.url, '--listen', '127.0.0.1:0', '--routes', routes],
      {
        env: { ...process.env, KEYPORT_CLIENT_ID: rs.id, KEYPORT_CLIENT_SECRET: rs.secret },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    check = await new Promise<string>((resolve, reject) => {
      let out = '';
      gateway.stdout!.on('data', (chunk: Buffer) => {
        out += chunk;
        const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (found) resolve(found[1]!);
      });
      gateway.on('exit', (code) => reject(new Error(`keyport-guard exited (${code})`)));
    });
  });
  afterAll(async () => {
    if (gateway?.exitCode === null) {
      gateway.kill('SIGTERM');
      await once(gateway, 'exit');
    }
    await keyport?.close();
  });

  it('the routes table: a key without the permission gets 403 insufficient_permissions, one with it passes', async () => {
    const reader = await newKey(['api:read'], [], ['read_only']);
    const writer = await newKey(['api:read'], ['test_runs:*']);
    const forwarded = (secret: string) => ({
      authorization: `Bearer ${secret}`,
      'x-forwarded-method': 'POST',
      'x-forwarded-uri': '/runs/7',
    });
    const denied = await ask('/', forwarded(reader.secret));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text)).toEqual({
      error: 'insufficient_permissions',
      message: 'this call needs the permissions: test_runs:write',
    });
    expect(denied.headers.get('x-keyport-status')).toBe('403');
    expect(JSON.parse(denied.headers.get('x-keyport-body')!)).toEqual(JSON.parse(denied.text));

    const allowed = await ask('/', forwarded(writer.secret));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-keyport-client-id')).toBe(writer.id);
    expect(allowed.headers.get('x-keyport-permissions')).toBe('test_runs:*');
    // A GET of the same path needs no permission; the role's permissions go upstream.
    const read = await ask('/', { ...forwarded(reader.secret), 'x-forwarded-method': 'GET' });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-keyport-permissions')).toBe('*:read');
  });

  it('X-Keyport-Required-Permissions adds permissions; nginx gets 403 with the real body in headers', async () => {
    const reader = await newKey(['api:read'], ['projects:read']);
    const headers = { 'x-api-key': reader.secret };
    expect((await ask('/projects', { ...headers, 'x-keyport-required-permissions': 'projects:read' })).status).toBe(
      200,
    );
    const needed = await ask('/projects', {
      ...headers,
      'x-keyport-required-permissions': 'projects:read, test_runs:read',
      'x-keyport-proxy': 'nginx',
    });
    expect(needed.status).toBe(403);
    expect(JSON.parse(needed.headers.get('x-keyport-body')!)).toEqual({
      error: 'insufficient_permissions',
      message: 'this call needs the permissions: projects:read test_runs:read',
    });
  });
});
