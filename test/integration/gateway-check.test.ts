import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GATEWAY_BIN as BIN,
  GATEWAY_PLANS,
  startApiFixture,
  startGatewayCheck,
  type ApiFixture,
  type Listening,
} from '../helpers/api-fixture.js';

/**
 * Issue 27, item 1: `keyport-guard serve` called the way Traefik's
 * ForwardAuth (X-Forwarded-Method, X-Forwarded-Uri) and Envoy's HTTP
 * ext_authz (the original method and path) call it: those proxies pass the
 * check's status and body to the client, so it answers the real ones. And
 * the command's bad input: exit 2 with a message, nothing served.
 */
const OPERATOR = 'operator-token-for-the-gateway-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'keyport-gateway-check-'));

describe('the gateway check, called as Traefik and Envoy call it', () => {
  let fixture: ApiFixture;
  let keyport: ApiFixture['keyport'];
  let gateway: Listening;
  let check = '';
  let teamId: number;

  const newKey = (scopes: string[], team = teamId) => fixture.newKey(scopes, { teamId: team });

  const ask = async (path: string, headers: Record<string, string>, method = 'GET') => {
    const res = await fetch(`${check}${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  };

  beforeAll(async () => {
    fixture = await startApiFixture({
      settings: { plans: GATEWAY_PLANS, admin_token: OPERATOR },
    });
    ({ keyport, teamId } = fixture);
    const routes = join(dir, 'routes.json');
    writeFileSync(routes, JSON.stringify([{ method: 'POST', path: '/runs', scopes: ['api:write'] }]));
    gateway = await startGatewayCheck(fixture, routes);
    check = gateway.url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await fixture?.close();
  });

  it('Traefik ForwardAuth: the original method and path in X-Forwarded-*; real statuses and bodies', async () => {
    const reader = await newKey(['api:read']);
    const forwarded = (method: string, uri: string) => ({
      authorization: `Bearer ${reader.secret}`,
      'x-forwarded-method': method,
      'x-forwarded-uri': uri,
    });
    const allowed = await ask('/', forwarded('GET', '/runs/7'));
    expect(allowed.status).toBe(200);
    expect(allowed.text).toBe('');
    expect(allowed.headers.get('x-keyport-team-id')).toBe(String(teamId));
    expect(allowed.headers.get('x-keyport-client-id')).toBe(reader.id);
    expect(allowed.headers.get('x-keyport-environment')).toBe('prod');
    expect(allowed.headers.get('x-keyport-scopes')).toBe('api:read');
    expect(allowed.headers.get('x-ratelimit-limit')).toBe('100000');

    const denied = await ask('/', forwarded('POST', '/runs/7?x=1'));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text)).toEqual({
      error: 'insufficient_permissions',
      message: 'this call needs the scopes: api:write',
    });
    expect(denied.headers.get('x-keyport-status')).toBe('403');
    expect(JSON.parse(denied.headers.get('x-keyport-body')!)).toEqual(JSON.parse(denied.text));
    // A prefix at a "/" boundary only.
    expect((await ask('/', forwarded('POST', '/runsx'))).status).toBe(200);
    // The key in the original URL: refused, never verified.
    const inUrl = await ask('/', { 'x-forwarded-method': 'GET', 'x-forwarded-uri': `/p?api_key=${reader.secret}` });
    expect(inUrl.status).toBe(400);
  });

  it('Envoy ext_authz: the original method and path are the check request; X-Keyport-Required-Scopes adds scopes', async () => {
    const reader = await newKey(['api:read']);
    const headers = { 'x-api-key': reader.secret };
    expect((await ask('/runs', headers, 'POST')).status).toBe(403);
    expect((await ask('/runs', headers)).status).toBe(200);
    const needed = await ask('/reports', { ...headers, 'x-keyport-required-scopes': 'api:read, billing:read' });
    expect(needed.status).toBe(403);
    expect(JSON.parse(needed.text).message).toBe('this call needs the scopes: api:read billing:read');
  });

  it('over the limit: 429 with Retry-After, as the client must see it', async () => {
    const tiny = (await keyport.keyport.teamService.createTeam({ name: 'Tiny', plan: 'tiny' })).id;
    const key = await newKey(['api:read'], tiny);
    expect((await ask('/p', { 'x-api-key': key.secret })).status).toBe(200);
    const limited = await ask('/p', { 'x-api-key': key.secret });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.text)).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(limited.headers.get('retry-after')).toBe(String(JSON.parse(limited.text).retry_after));
    // For nginx: 403, the real status and body in headers.
    const nginx = await ask('/p', { 'x-api-key': key.secret, 'x-keyport-proxy': 'nginx' });
    expect(nginx.status).toBe(403);
    expect(nginx.headers.get('x-keyport-status')).toBe('429');
    expect(JSON.parse(nginx.headers.get('x-keyport-body')!)).toMatchObject({ error: 'rate_limit_exceeded' });
  });

  it('SIGTERM: the calls its leases served are reported first, so usage_count equals the calls made', async () => {
    const key = await newKey(['api:read']);
    const calls = 40;
    for (let i = 0; i < calls; i++) expect((await ask('/p', { 'x-api-key': key.secret })).status).toBe(200);
    gateway.child.kill('SIGTERM');
    const [code] = await once(gateway.child, 'exit');
    expect(code).toBe(0);
    let usage = 0;
    for (let i = 0; i < 100 && usage < calls; i++) {
      const res = await fetch(`${keyport.url}/api/teams/${teamId}/clients/${key.id}`, {
        headers: { authorization: `Bearer ${OPERATOR}` },
      });
      usage = ((await res.json()) as { usage_count: number }).usage_count;
      if (usage < calls) await new Promise((r) => setTimeout(r, 20));
    }
    expect(usage).toBe(calls);
  });
});

describe('keyport-guard serve, bad input', () => {
  const run = (args: string[], env: Record<string, string> = { KEYPORT_CLIENT_ID: 'rs', KEYPORT_CLIENT_SECRET: 's' }) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });

  it('no credentials, no issuer, a bad --listen or --routes: exit 2 with a message naming it', () => {
    const table = (name: string, content: string) => {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    };
    const cases: Array<[string[], Record<string, string> | undefined, RegExp]> = [
      [['serve', '--issuer', 'http://127.0.0.1:9'], {}, /KEYPORT_CLIENT_ID and KEYPORT_CLIENT_SECRET/],
      [['serve'], undefined, /--issuer/],
      [['serve', '--issuer', 'http://127.0.0.1:9', '--listen', 'nope'], undefined, /--listen needs HOST:PORT/],
      [['bogus', '--issuer', 'http://127.0.0.1:9'], undefined, /the command is "serve"/],
      [
        ['serve', '--issuer', 'http://127.0.0.1:9', '--routes', table('bad.json', '[{"path":"runs","scopes":[]}]')],
        undefined,
        /routes\[0\]\.path: expected a path starting with \//,
      ],
      [
        ['serve', '--issuer', 'http://127.0.0.1:9', '--routes', table('broken.json', '{')],
        undefined,
        /--routes .*broken\.json/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = run(args, env);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
