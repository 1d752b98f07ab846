import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GATEWAY_PLANS,
  startApiFixture,
  startGatewayCheck,
  type ApiFixture,
  type Listening,
} from '../helpers/api-fixture.js';

/**
 * Issue 28 item 2 at the gateway check: a route's required permissions, from
 * X-Keyport-Required-Permissions or the --routes table, are checked as the
 * guard checks them; the key's permissions go upstream in X-Keyport-Permissions.
 */
const OPERATOR = 'operator-token-for-the-gateway-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'keyport-gateway-perm-'));

describe('the gateway check and required permissions', () => {
  let fixture: ApiFixture;
  let gateway: Listening;
  let check = '';

  const newKey = (scopes: string[], permissions: string[] = [], roles: string[] = []) =>
    fixture.newKey(scopes, { permissions, roles });

  const ask = async (path: string, headers: Record<string, string>, method = 'GET') => {
    const res = await fetch(`${check}${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  };

  beforeAll(async () => {
    fixture = await startApiFixture({
      settings: {
        plans: GATEWAY_PLANS,
        admin_token: OPERATOR,
        permissions: { 'test_runs:read': 'read runs', 'test_runs:write': 'report runs', 'projects:read': 'see' },
      },
    });
    const routes = join(dir, 'routes.json');
    writeFileSync(routes, JSON.stringify([{ method: 'POST', path: '/runs', permissions: ['test_runs:write'] }]));
    gateway = await startGatewayCheck(fixture, routes);
    check = gateway.url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await fixture?.close();
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
