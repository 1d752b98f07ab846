import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 18, the guard: a busy key is verified once per lease (a share of its
 * budget keyport spends up front), and every change to a key is pushed to
 * the guards over GET /keys/events. On both databases, with and without
 * Redis, with two keyport processes sharing them (two hosts on one machine).
 */
const REDIS = process.env.TEST_REDIS_URL;
const TARGETS = DATABASES.flatMap((database) => [
  { database, redis: undefined as string | undefined },
  ...(REDIS ? [{ database, redis: REDIS }] : []),
]);
const OPERATOR = 'operator-token-for-leases-0123456789';

const settings = (redis: string | undefined) => ({
  admin_token: OPERATOR,
  redis_url: redis,
  redis_key_prefix: `keyport-test-${randomBytes(4).toString('hex')}:`,
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
    // The hour is the tight window, so no test crosses its end.
    hourly: { api_access: true, max_keys: 100, rate_limits: [100_000, 40, 1_000_000] },
    // The same budget, shared by the team's keys (issue 28 item 5).
    team_hourly: { api_access: true, max_keys: 100, rate_limits: [100_000, 40, 1_000_000], limit_per: 'team' },
  },
});

/**
 * A forwarding proxy in front of a keyport process: counts the guard's
 * verifications, and can freeze the event stream (as a stalled process or a
 * lost network would) without closing it.
 */
async function countingProxy(upstream: string) {
  const proxy = {
    verifications: 0,
    frozen: false,
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      // A verification alone or a batch of them (lease renewals): a round trip either way.
      if (req.method === 'POST' && req.url?.startsWith('/keys/verify')) proxy.verifications += 1;
      const forwarded = httpRequest(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        const stream = req.url === '/keys/events';
        answer.on('data', (chunk: Buffer) => {
          if (!(stream && proxy.frozen)) res.write(chunk);
        });
        answer.on('end', () => res.end());
      });
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    }),
    url: '',
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  return proxy;
}

/** Waits for a condition the system reaches on its own (a stream connecting, a stream going quiet). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

describe.each(TARGETS)('guard leases and pushed changes, on $database.name, Redis: $redis', ({ database, redis }) => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };
  let proxyA: Awaited<ReturnType<typeof countingProxy>>;
  let proxyB: Awaited<ReturnType<typeof countingProxy>>;
  const guards: KeyportGuard[] = [];
  /** Changes each guard heard, by client_id. */
  const heard = new Map<KeyportGuard, string[]>();

  const guardOn = (proxy: { url: string }, options: Record<string, unknown> = {}) => {
    const seen: string[] = [];
    const guard = keyportGuard({
      issuer: proxy.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      onChange: (id) => seen.push(id),
      ...options,
    });
    guards.push(guard);
    heard.set(guard, seen);
    return guard;
  };
  const newKey = async (input: Record<string, unknown> = {}, team = teamId) => {
    const created = await a.keyport.clientService.createServiceAccount({
      teamId: team,
      scopes: ['api:read', 'api:write'],
      ...input,
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const verify = async (body: Record<string, unknown>, base = a.url) => {
    const res = await fetch(`${base}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  /** Calls through `guard` until one call is answered from its lease (no round trip), with the guard's stream live. */
  const warm = async (guard: KeyportGuard, proxy: { verifications: number }, key: string) => {
    await guard.verify(key);
    await until(() => guard.live, 'the event stream beats');
    for (let i = 0; i < 50; i++) {
      const before = proxy.verifications;
      expect((await guard.verify(key)).status).toBe(200);
      if (proxy.verifications === before) return;
    }
    throw new Error('no call was answered from a lease');
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    a = await startServer(created.url, settings(redis));
    b = await startServer(created.url, {
      ...settings(redis),
      redis_key_prefix: a.config.redisKeyPrefix,
      keys_dir: a.config.keysDir,
    });
    teamId = (await a.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await a.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    proxyA = await countingProxy(a.url);
    proxyB = await countingProxy(b.url);
  });
  afterAll(async () => {
    for (const guard of guards) guard.close();
    proxyA?.server.closeAllConnections();
    proxyB?.server.closeAllConnections();
    proxyA?.server.close();
    proxyB?.server.close();
    await b?.close();
    await a?.close();
    await drop?.();
  });

  it('a lease is spent of the budget with the call, at most a quarter of what is left; none for credits', async () => {
    const hourly = (await a.keyport.teamService.createTeam({ name: 'Hourly', plan: 'hourly' })).id;
    const key = await newKey({}, hourly);
    const first = await verify({ key: key.secret, lease: 100 });
    // 40 an hour: 1 for the call, then a quarter of the 39 left.
    expect(first.body).toMatchObject({
      code: 'VALID',
      lease: { calls: 9, ttl_ms: expect.any(Number) },
      ratelimit: { limit: 40, remaining: 30 },
    });
    expect(first.body.lease.ttl_ms).toBeGreaterThan(0);
    expect(first.body.lease.ttl_ms).toBeLessThanOrEqual(5000);
    // Without asking, no lease.
    expect((await verify({ key: key.secret })).body.lease).toBeUndefined();

    const metered = await newKey({ credits: { remaining: 100, refill: null } });
    expect((await verify({ key: metered.secret, lease: 100 })).body).toMatchObject({
      code: 'VALID',
      credits: { remaining: 99 },
    });
    expect((await verify({ key: metered.secret, lease: 100 })).body.lease).toBeUndefined();

    const tokenOf = await newKey();
    const token = (
      await postForm(
        `${a.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(tokenOf.id, tokenOf.secret) },
      )
    ).body.access_token as string;
    // An access token spends its client's budget and is leased like its key (guard-token-budgets.test.ts).
    const byToken = await verify({ key: token, lease: 100 });
    expect(byToken.body).toMatchObject({ code: 'VALID', lease: { calls: expect.any(Number) } });

    expect((await verify({ key: key.secret, lease: 1001 })).body).toMatchObject({
      error: 'invalid_request',
      message: expect.stringMatching(/^lease:/),
    });
    expect((await verify({ key: key.secret, lease: -1 })).status).toBe(400);
    expect((await verify({ key: key.secret, leased_calls: 'many' })).status).toBe(400);
  });

  it('GET /keys/events is for resource servers; it beats, and carries each change made through any process', async () => {
    expect((await fetch(`${a.url}/keys/events`)).status).toBe(401);
    const sa = await newKey();
    expect((await fetch(`${a.url}/keys/events`, { headers: { authorization: basic(sa.id, sa.secret) } })).status).toBe(
      401,
    );
    expect((await fetch(`${a.url}/keys/events`, { headers: { authorization: basic(rs.id, 'wrong') } })).status).toBe(
      401,
    );

    const res = await fetch(`${a.url}/keys/events`, { headers: { authorization: basic(rs.id, rs.secret) } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await readUntil(': beat\n\n');
    // Changed through the other process, by the admin API.
    const patched = await fetch(`${b.url}/api/teams/${teamId}/clients/${sa.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['api:read'] }),
    });
    expect(patched.status).toBe(200);
    await readUntil(`data: {"client_id":"${sa.id}"}\n\n`);
    await reader.cancel();
  });

  it('a stream opened once the process is draining ends at once (it must not hold the stop open)', async () => {
    const draining = await startServer(a.config.databaseUrl, { ...settings(redis), keys_dir: a.config.keysDir });
    try {
      draining.keyport.draining = true;
      const res = await fetch(`${draining.url}/keys/events`, { headers: { authorization: basic(rs.id, rs.secret) } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let ended = false;
      // Read until the stream ends; a beat would mean the stream stayed open.
      while (!ended) {
        const { done, value } = await reader.read();
        ended = done;
        expect(new TextDecoder().decode(value ?? new Uint8Array())).not.toContain(': beat');
      }
    } finally {
      await draining.close();
    }
  });

  it('a busy key costs a round trip per lease, not per call, and every call is in its usage', async () => {
    // Leases of 100 at most: the usage check below bounds what the last lease holds unreported.
    const guard = guardOn(proxyA, { maxLease: 100 });
    const key = await newKey();
    await warm(guard, proxyA, key.secret);
    const before = proxyA.verifications;
    let calls = 0;
    for (let i = 0; i < 300; i++) {
      const verdict = await guard.verify(key.secret, { scopes: ['api:read'] });
      expect(verdict.status).toBe(200);
      expect(verdict.identity).toEqual({
        team_id: teamId,
        client_id: key.id,
        environment: 'prod',
        scopes: ['api:read', 'api:write'],
        meta: null,
        permissions: [],
      });
      expect(Number(verdict.headers['X-RateLimit-Remaining'])).toBeGreaterThan(0);
      calls += 1;
    }
    // Leases grow with the key's calls: a few dozen round trips at most for 300 calls, where there were 300.
    expect(proxyA.verifications - before).toBeLessThan(30);
    // Leased calls are reported with the key's next verification: the usage holds every call but those of the last lease.
    await a.keyport.keyUsage.flush();
    const [row] = (await a.keyport
      .db('key_usage_hourly')
      .where({ client_id: key.id })
      .sum({ valid: 'valid' })) as Array<{ valid: number | string }>;
    expect(Number(row!.valid)).toBeGreaterThan(calls + 2 - 100);
    expect(Number(row!.valid)).toBeLessThanOrEqual(calls + 2 + 50);
  });

  it('a budget is never exceeded: two guards on two keyport processes share 40 calls an hour', async () => {
    const hourly = (await a.keyport.teamService.createTeam({ name: 'Shared budget', plan: 'hourly' })).id;
    const key = await newKey({}, hourly);
    const one = guardOn(proxyA, { maxLease: 10 });
    const two = guardOn(proxyB, { maxLease: 10 });
    const statuses = (await Promise.all([one.verify(key.secret), two.verify(key.secret)])).map((v) => v.status);
    await until(() => one.live && two.live, 'both event streams beat');
    // Concurrent calls on both guards, in waves, well past the budget.
    for (let wave = 0; wave < 12; wave++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).verify(key.secret)));
      statuses.push(...answers.map((v) => v.status));
    }
    const allowed = statuses.filter((s) => s === 200).length;
    expect(allowed).toBeLessThanOrEqual(40);
    // Exact to within the leases the two guards may still hold.
    expect(allowed).toBeGreaterThanOrEqual(40 - 2 * 10);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    const spent = await verify({ key: key.secret });
    expect(spent.body).toMatchObject({ code: 'RATE_LIMITED', ratelimit: { limit: 40, remaining: 0 } });
  });

  it('a team budget is never exceeded: two keys of one team at two guards on two processes share 40 an hour', async () => {
    const team = (await a.keyport.teamService.createTeam({ name: 'Team budget', plan: 'team_hourly' })).id;
    const [first, second] = [await newKey({}, team), await newKey({}, team)];
    const one = guardOn(proxyA, { maxLease: 10 });
    const two = guardOn(proxyB, { maxLease: 10 });
    const statuses = (await Promise.all([one.verify(first.secret), two.verify(second.secret)])).map((v) => v.status);
    await until(() => one.live && two.live, 'both event streams beat');
    for (let wave = 0; wave < 12; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? one.verify(first.secret) : two.verify(second.secret))),
      );
      statuses.push(...answers.map((v) => v.status));
    }
    const allowed = statuses.filter((s) => s === 200).length;
    expect(allowed).toBeLessThanOrEqual(40);
    expect(allowed).toBeGreaterThanOrEqual(40 - 2 * 10);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    // Both keys report the team's window.
    for (const key of [first, second]) {
      expect((await verify({ key: key.secret })).body).toMatchObject({
        code: 'RATE_LIMITED',
        ratelimit: { limit: 40, remaining: 0 },
      });
    }
  });

  it('a revocation made through the other process is pushed: both guards refuse the key at their next call', async () => {
    const one = guardOn(proxyA);
    const two = guardOn(proxyB);
    const key = await newKey();
    await warm(one, proxyA, key.secret);
    await warm(two, proxyB, key.secret);
    const revoked = await fetch(`${b.url}/api/teams/${teamId}/clients/${key.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ is_valid: false }),
    });
    expect(revoked.status).toBe(200);
    await until(
      () => heard.get(one)!.includes(key.id) && heard.get(two)!.includes(key.id),
      'both guards hear of the revocation',
    );
    for (const guard of [one, two]) expect((await guard.verify(key.secret)).status).toBe(401);
  });

  it('rotation without grace and a narrower scope are pushed too', async () => {
    const guard = guardOn(proxyA);
    const key = await newKey();
    await warm(guard, proxyA, key.secret);
    await b.keyport.clientService.update(key.id, { scopes: ['api:read'] });
    await until(
      () => heard.get(guard)!.filter((id) => id === key.id).length === 1,
      'the guard hears of the new scopes',
    );
    expect((await guard.verify(key.secret, { scopes: ['api:write'] })).status).toBe(403);

    await warm(guard, proxyA, key.secret);
    const rotated = await b.keyport.clientService.regenerateSecret(key.id, { gracePeriodSeconds: 0 });
    await until(() => heard.get(guard)!.filter((id) => id === key.id).length === 2, 'the guard hears of the rotation');
    expect((await guard.verify(key.secret)).status).toBe(401);
    expect((await guard.verify(rotated.clientSecret!)).status).toBe(200);
  });

  it('a guard that stops hearing keyport stops trusting its leases: a revocation it never heard of is still refused', async () => {
    const guard = guardOn(proxyA);
    const key = await newKey();
    await warm(guard, proxyA, key.secret);
    proxyA.frozen = true;
    try {
      await until(() => !guard.live, 'the guard notices the stream went quiet');
      await b.keyport.clientService.revoke(key.id);
      expect(heard.get(guard)).not.toContain(key.id);
      expect((await guard.verify(key.secret)).status).toBe(401);
    } finally {
      proxyA.frozen = false;
    }
  });
});
