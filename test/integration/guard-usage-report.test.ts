import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 24, item 5 (BugBrain: usage counts are exact): calls the guard
 * allows from a lease are reported to keyport within seconds of the key
 * going quiet, and on `close()`, so a key's `usage_count` and its hourly
 * usage equal the calls made. A real keyport, the guard in a real Koa app.
 */
const OPERATOR = 'operator-token-for-usage-reports-0123456789';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

/** Waits for a condition the system reaches on its own, checking every 50 ms, for at most 15 s. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 300 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

describe.each(DATABASES)('guard usage reports on $name', (database) => {
  let keyport: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };
  /** Round trips the guard made to POST /keys/verify, through a counting proxy. */
  let verifications = 0;
  /** Usage reports the proxy answers 503 to, as a keyport that is restarting would, before it lets them through. */
  let reportsToRefuse = 0;
  let reportsRefused = 0;
  let proxy: Server;
  let proxyUrl: string;
  const servers: Server[] = [];

  const admin = async (path: string) => {
    const res = await fetch(`${keyport.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  /** What keyport's admin API says of the key: its usage_count, and the valid calls in its hourly usage. */
  const counted = async (clientId: string) => {
    const key = await admin(`/api/teams/${teamId}/clients/${clientId}`);
    const usage = await admin(`/api/teams/${teamId}/clients/${clientId}/usage?granularity=hour`);
    const hourly = (usage.data as Array<{ valid: number }>).reduce((sum, row) => sum + row.valid, 0);
    return { usage_count: key.usage_count as number, hourly };
  };

  /** A Koa app behind a new guard; its calls and the guard's round trips. */
  const koaBehindGuard = async () => {
    const guard = keyportGuard({ issuer: proxyUrl, clientId: rs.id, clientSecret: rs.secret });
    const koa = new Koa();
    koa.use(guard.koa());
    koa.use((ctx) => {
      ctx.body = { hello: ctx.state.keyport.client_id };
    });
    const app = createServer(koa.callback());
    servers.push(app);
    const url = await listen(app);
    const call = async (key: string) =>
      (await fetch(`${url}/projects`, { headers: { authorization: `Bearer ${key}` } })).status;
    return { guard, call };
  };

  /** Calls until some were served from a lease (fewer round trips than calls), then a few more: N calls in all. */
  const callsPartlyFromALease = async (guard: KeyportGuard, call: (key: string) => Promise<number>, key: string) => {
    const before = verifications;
    let calls = 0;
    for (; calls < 400 && (calls < 20 || verifications - before >= calls - 5); calls++) {
      expect(await call(key)).toBe(200);
      if (calls === 0) for (let i = 0; i < 500 && !guard.live; i++) await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 7; i++, calls++) expect(await call(key)).toBe(200);
    // Some calls were answered by the guard on its own: the case that under-counted.
    expect(verifications - before).toBeLessThan(calls);
    return calls;
  };

  const newKey = async () => {
    const created = await keyport.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    keyport = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] } },
    });
    teamId = (await keyport.keyport.teamService.createTeam({ name: 'BugBrain', plan: 'pro' })).id;
    const r = await keyport.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    proxy = createServer((req, res) => {
      if (req.url === '/keys/verify') verifications += 1;
      if (req.url === '/keys/usage' && reportsToRefuse > 0) {
        reportsToRefuse -= 1;
        reportsRefused += 1;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":"temporarily_unavailable"}');
        return;
      }
      const upstream = httpRequest(`${keyport.url}${req.url}`, { method: req.method, headers: req.headers }, (a) => {
        res.writeHead(a.statusCode!, a.headers);
        a.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    proxyUrl = await listen(proxy);
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    proxy?.closeAllConnections();
    proxy?.close();
    await keyport?.close();
    await drop?.();
  });

  it('a key that goes quiet after calls served from a lease: usage_count and hourly usage reach the calls made', async () => {
    const { guard, call } = await koaBehindGuard();
    const key = await newKey();
    const calls = await callsPartlyFromALease(guard, call, key.secret);
    // No more calls of this key: the guard reports what it allowed on its own by itself.
    const seen = await until(
      () => counted(key.id),
      (c) => c.usage_count >= calls && c.hourly >= calls,
    );
    expect(seen).toEqual({ usage_count: calls, hourly: calls });
    guard.close();
  });

  it('a report keyport could not take is sent again: the counts still equal the calls', async () => {
    const { guard, call } = await koaBehindGuard();
    const key = await newKey();
    reportsToRefuse = 1;
    const calls = await callsPartlyFromALease(guard, call, key.secret);
    const seen = await until(
      () => counted(key.id),
      (c) => c.usage_count >= calls && c.hourly >= calls,
    );
    expect(reportsRefused).toBe(1);
    expect(seen).toEqual({ usage_count: calls, hourly: calls });
    await guard.close();
  });

  it('POST /keys/usage: counts reported calls of API keys only; a malformed report is 400 and counts nothing', async () => {
    const key = await newKey();
    const report = (body: unknown, authorization = basic(rs.id, rs.secret)) =>
      fetch(`${keyport.url}/keys/usage`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const digest = createHash('sha256').update(key.secret).digest('base64url');
    const unknown = createHash('sha256').update('not a key').digest('base64url');
    const ok = await report({
      leased_calls: [
        { key_digest: digest, calls: 3 },
        { key_digest: unknown, calls: 5 },
      ],
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ counted: 3 });
    for (const bad of [
      { leased_calls: [] },
      { leased_calls: [{ key_digest: 'short', calls: 1 }] },
      { leased_calls: [{ key_digest: digest, calls: 0 }] },
      { leased_calls: [{ key_digest: digest, calls: 1, extra: true }] },
      { leased_calls: [{ key_digest: digest, calls: 2 }], lease: 1 },
    ]) {
      const res = await report(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    }
    expect((await report({ leased_calls: [{ key_digest: digest, calls: 2 }] }, basic(rs.id, 'wrong'))).status).toBe(
      401,
    );
    // A customer's own key is no resource server: it cannot report usage.
    expect((await report({ leased_calls: [{ key_digest: digest, calls: 2 }] }, basic(key.id, key.secret))).status).toBe(
      401,
    );
    await Promise.all([keyport.keyport.usage.flush(), keyport.keyport.keyUsage.flush()]);
    expect(await counted(key.id)).toEqual({ usage_count: 3, hourly: 3 });
  });

  it('POST /keys/usage takes the 1,000 items it allows, at their longest (a guard with 1,000 busy clients)', async () => {
    const key = await newKey();
    // 999 clients keyport does not know, at the longest client_id allowed, and one it knows.
    const items = [
      ...Array.from({ length: 999 }, (_, i) => ({
        client_id: `${'x'.repeat(58)}${String(i).padStart(6, '0')}`,
        calls: 999_999,
      })),
      { client_id: key.id, calls: 4 },
    ];
    const res = await fetch(`${keyport.url}/keys/usage`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ leased_calls: items }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ counted: 4 });
    await Promise.all([keyport.keyport.usage.flush(), keyport.keyport.keyUsage.flush()]);
    expect(await counted(key.id)).toEqual({ usage_count: 4, hourly: 4 });
  });

  it('close() right after the calls reports what the guard allowed: the counts equal the calls', async () => {
    const { guard, call } = await koaBehindGuard();
    const key = await newKey();
    const calls = await callsPartlyFromALease(guard, call, key.secret);
    // close() resolves once keyport has taken the report: what keyport then writes holds every call.
    await guard.close();
    await Promise.all([keyport.keyport.usage.flush(), keyport.keyport.keyUsage.flush()]);
    expect(await counted(key.id)).toEqual({ usage_count: calls, hourly: calls });
  });
});
