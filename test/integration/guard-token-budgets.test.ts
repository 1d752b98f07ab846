import { manualClock } from '../../src/clock.js';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

/**
 * Issue 27 item 3: a client's calls made with its OAuth access token spend
 * the same plan budget as its API key calls, with leases, so X-RateLimit-*
 * means the same for both kinds of caller. Real guards on two keyport
 * processes sharing one database.
 */
const OPERATOR = 'operator-token-for-token-budgets-0123';

// The hour is the first (shortest) window and the tight one: a lease lives up to 5 s, never past
// the shortest window's end, so no lease here ends before the test spends it.
const settings = {
  admin_token: OPERATOR,
  redis_key_prefix: `keyport-test-${randomBytes(4).toString('hex')}:`,
  rate_limit_windows_seconds: [3600, 7200, 86_400],
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
    forty: { api_access: true, max_keys: 100, rate_limits: [40, 1000, 10_000] },
  },
};

/** A forwarding proxy in front of a keyport process that counts verifications by the credential they carry. */
async function countingProxy(upstream: string) {
  const proxy = {
    verified: [] as string[],
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url === '/keys/verify')
          proxy.verified.push((JSON.parse(body.toString('utf8')) as { key: string }).key);
        const forwarded = httpRequest(
          `${upstream}${req.url}`,
          { method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(res);
          },
        );
        forwarded.on('error', () => res.destroy());
        forwarded.end(body);
      });
    }),
    url: '',
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  return proxy;
}

/** Waits for a condition the system reaches on its own (a stream connecting). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

describe.each(DATABASES)('plan budgets for access tokens at the guard, on $name', (database) => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  /** A resource server that chose JWT access tokens (issue 27 item 2). */
  let jwtRs: { id: string; secret: string; resource: string };
  let proxyA: Awaited<ReturnType<typeof countingProxy>>;
  let proxyB: Awaited<ReturnType<typeof countingProxy>>;
  let warmKey: string;
  const guards: KeyportGuard[] = [];

  /** A guard whose event stream beats (warmed with a key of another team, so no budget here is touched). */
  const liveGuard = async (proxy: { url: string }) => {
    const guard = keyportGuard({ issuer: proxy.url, clientId: rs.id, clientSecret: rs.secret });
    guards.push(guard);
    await guard.verify(warmKey);
    await until(() => guard.live, 'the event stream beats');
    return guard;
  };
  /**
   * A service account on the 40-an-hour plan, with its API key and a client_credentials access
   * token. The token request spends one call of the 40 (the token endpoint counts the same budget):
   * 39 are left for the API.
   */
  const keyAndToken = async (form: Record<string, string> = {}) => {
    const teamId = (
      await a.keyport.teamService.createTeam({ name: `Forty ${randomBytes(3).toString('hex')}`, plan: 'forty' })
    ).id;
    const created = await a.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    const id = created.client.client_id;
    const key = created.clientSecret!;
    const issued = await postForm(
      `${a.url}/token`,
      { grant_type: 'client_credentials', ...form },
      { authorization: basic(id, key) },
    );
    expect(issued.status).toBe(200);
    return { id, key, token: issued.body.access_token as string };
  };
  const verify = async (body: Record<string, unknown>, base = a.url) => {
    const res = await fetch(`${base}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    a = await startServer(created.url, settings, { clock: pinnedClock });
    b = await startServer(created.url, { ...settings, keys_dir: a.config.keysDir }, { clock: pinnedClock });
    const r = await a.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    const j = await a.keyport.clientService.createResourceServer({ name: 'jwt-api', accessTokenFormat: 'jwt' });
    jwtRs = { id: j.client.client_id, secret: j.clientSecret!, resource: `urn:keyport:rs:${j.client.client_id}` };
    const proTeam = (await a.keyport.teamService.createTeam({ name: 'Warm', plan: 'pro' })).id;
    warmKey = (await a.keyport.clientService.createServiceAccount({ teamId: proTeam, scopes: ['api:read'] }))
      .clientSecret!;
    proxyA = await countingProxy(a.url);
    proxyB = await countingProxy(b.url);
  });
  afterAll(async () => {
    for (const guard of guards) await guard.close();
    for (const proxy of [proxyA, proxyB]) {
      proxy?.server.closeAllConnections();
      proxy?.server.close();
    }
    await b?.close();
    await a?.close();
    await drop?.();
  });

  it("/keys/verify leases an access token too, spent of its client's budget (the same counters as its key)", async () => {
    const { key, token } = await keyAndToken();
    const byToken = await verify({ key: token, lease: 100 });
    // 40 an hour, 1 spent at /token: 1 for the call, then a quarter of the 38 left.
    expect(byToken.body).toMatchObject({
      code: 'VALID',
      lease: { calls: 9, ttl_ms: expect.any(Number) },
      ratelimit: { limit: 40, remaining: 29 },
    });
    expect(byToken.body.lease.ttl_ms).toBeLessThanOrEqual(5000);
    expect((await verify({ key })).body.ratelimit).toMatchObject({ limit: 40, remaining: 28 });
  });

  it('one guard: a client alternating its API key and its access token sees one Remaining sequence, 38 … 0, then 429 with Retry-After', async () => {
    const guard = await liveGuard(proxyA);
    const { id, key, token } = await keyAndToken();
    const before = proxyA.verified.length;
    const remaining: number[] = [];
    for (let i = 0; i < 39; i++) {
      const verdict = await guard.verify(i % 2 ? token : key, { scopes: ['api:read'] });
      expect(verdict.status, `call ${i + 1}`).toBe(200);
      expect(verdict.identity).toMatchObject({ client_id: id, scopes: ['api:read'] });
      expect(verdict.headers['X-RateLimit-Limit']).toBe('40');
      remaining.push(Number(verdict.headers['X-RateLimit-Remaining']));
    }
    expect(remaining).toEqual(Array.from({ length: 39 }, (_, i) => 38 - i));
    for (const credential of [key, token, key, token]) {
      const refused = await guard.verify(credential);
      expect(refused.status).toBe(429);
      expect(refused.headers).toMatchObject({ 'X-RateLimit-Limit': '40', 'X-RateLimit-Remaining': '0' });
      expect(Number(refused.headers['Retry-After'])).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ error: 'rate_limit_exceeded' });
    }
    // Leases served calls of both kinds: fewer round trips than calls, for the token as for the key.
    const asked = proxyA.verified.slice(before);
    expect(asked.filter((k) => k === token).length).toBeLessThan(20);
    expect(asked.filter((k) => k === key).length).toBeLessThan(20);

    // Every allowed call is in the client's usage once the guard reports (close): 39 valid calls.
    await guard.close();
    await Promise.all([a.keyport.usage.flush(), a.keyport.keyUsage.flush()]);
    const [row] = (await a.keyport.db('key_usage_hourly').where({ client_id: id }).sum({ valid: 'valid' })) as Array<{
      valid: number | string;
    }>;
    expect(Number(row!.valid)).toBe(39);
  });

  it('a JWT access token checked at the guard spends the same budget: key and JWT alternating see 38 … 0, then 429; leases, not a round trip per call', async () => {
    const guard = keyportGuard({
      issuer: proxyA.url,
      clientId: jwtRs.id,
      clientSecret: jwtRs.secret,
      // keyport's own URL is the tokens' `iss`; the guard talks to it through the counting proxy.
      jwt: { issuer: a.url },
    });
    guards.push(guard);
    await guard.verify(warmKey);
    await until(() => guard.live, 'the event stream beats');
    const { id, key, token } = await keyAndToken({ resource: jwtRs.resource, scope: 'api:read' });
    expect(token.split('.')).toHaveLength(3);
    const bearer = (credential: string) => ({ rawHeaders: ['Authorization', `Bearer ${credential}`] });
    const before = proxyA.verified.length;
    const remaining: number[] = [];
    for (let i = 0; i < 39; i++) {
      const verdict = await guard.check(bearer(i % 2 ? token : key), ['api:read']);
      expect(verdict.status, `call ${i + 1}`).toBe(200);
      expect(verdict.identity).toMatchObject({ client_id: id });
      expect(verdict.headers['X-RateLimit-Limit']).toBe('40');
      remaining.push(Number(verdict.headers['X-RateLimit-Remaining']));
    }
    expect(remaining).toEqual(Array.from({ length: 39 }, (_, i) => 38 - i));
    for (const credential of [token, key, token]) {
      const refused = await guard.check(bearer(credential));
      expect(refused.status).toBe(429);
      expect(refused.headers).toMatchObject({ 'X-RateLimit-Limit': '40', 'X-RateLimit-Remaining': '0' });
      expect(Number(refused.headers['Retry-After'])).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ error: 'rate_limit_exceeded' });
    }
    const asked = proxyA.verified.slice(before);
    expect(asked.filter((k) => k === token).length).toBeLessThan(20);
  });

  it('two guards on two keyport processes: key and token calls alternating across them get exactly the 39 calls left of the hour', async () => {
    const one = await liveGuard(proxyA);
    const two = await liveGuard(proxyB);
    const { key, token } = await keyAndToken();
    const calls = [
      [one, key],
      [two, token],
      [one, token],
      [two, key],
    ] as const;
    const statuses: number[] = [];
    for (let i = 0; i < 72; i++) {
      const [guard, credential] = calls[i % 4]!;
      const verdict = await guard.verify(credential);
      statuses.push(verdict.status);
      if (verdict.status !== 200) {
        expect(verdict.status).toBe(429);
        expect(Number(verdict.headers['Retry-After'])).toBeGreaterThan(0);
        expect(verdict.headers['X-RateLimit-Remaining']).toBe('0');
      }
    }
    expect(statuses.filter((s) => s === 200).length).toBe(39);
    // The last calls, on both guards, with both credentials, are refused.
    expect(statuses.slice(-8).every((s) => s === 429)).toBe(true);
    for (const base of [a.url, b.url])
      for (const credential of [key, token])
        expect((await verify({ key: credential }, base)).body).toMatchObject({
          code: 'RATE_LIMITED',
          ratelimit: { limit: 40, remaining: 0 },
        });
  });

  it('a token revoked at /token/revocation is refused by a guard holding its lease, at the next call', async () => {
    const guard = await liveGuard(proxyA);
    const pro = (await a.keyport.teamService.createTeam({ name: 'Revokes', plan: 'pro' })).id;
    const created = await a.keyport.clientService.createServiceAccount({ teamId: pro, scopes: ['api:read'] });
    const id = created.client.client_id;
    const token = (
      await postForm(
        `${a.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(id, created.clientSecret!) },
      )
    ).body.access_token as string;
    // Until a call is answered from the token's lease.
    let leased = false;
    for (let i = 0; i < 50 && !leased; i++) {
      const asked = proxyA.verified.length;
      expect((await guard.verify(token)).status).toBe(200);
      leased = proxyA.verified.length === asked;
    }
    expect(leased).toBe(true);
    const changes: string[] = [];
    const heard = keyportGuard({
      issuer: proxyA.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      onChange: (c) => changes.push(c),
    });
    guards.push(heard);
    await heard.verify(warmKey);
    await until(() => heard.live, 'the second guard hears keyport');
    const revoked = await postForm(
      `${b.url}/token/revocation`,
      { token },
      { authorization: basic(id, created.clientSecret!) },
    );
    expect(revoked.status).toBe(200);
    await until(() => changes.includes(id), 'the guards hear of the revocation');
    expect((await guard.verify(token)).status).toBe(401);
  });
});
