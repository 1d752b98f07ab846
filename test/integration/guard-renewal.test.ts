import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 27: a busy key's next lease is asked for before its lease runs out,
 * so its calls never wait on keyport (the bench's p99 and throughput). The
 * renewal is no call (`cost: 0`): it counts nothing but the calls the leases
 * served; a refused renewal drops the key's client at once; a failed one
 * leaves the lease serving and is not tried again on every call.
 */
const settings = {
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
    // 200 a day: a budget a test can bring near its end.
    daily: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 200] },
  },
};

/** A proxy in front of keyport that can hold the guard's verifications (a slow keyport) or fail them. */
async function holdingProxy(upstream: string) {
  const proxy = {
    verifications: [] as Array<Record<string, unknown>>,
    hold: false,
    fail: false,
    held: [] as Array<() => void>,
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const verification = req.method === 'POST' && (req.url === '/keys/verify' || req.url === '/keys/verify/batch');
        if (verification) {
          const sent = JSON.parse(body.toString('utf8')) as Record<string, unknown> & {
            items?: typeof proxy.verifications;
          };
          proxy.verifications.push(...(req.url === '/keys/verify' ? [sent] : sent.items!));
        }
        const fail = () =>
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
        if (verification && proxy.fail) return fail();
        const forward = () => {
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
        };
        // A held verification is answered when released: failed if `fail` is set by then.
        if (verification && proxy.hold) proxy.held.push(() => (proxy.fail ? fail() : forward()));
        else forward();
      });
    }),
    url: '',
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  return proxy;
}

/** Waits for something the guard reaches on its own (its stream beating, a change heard). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/**
 * A round trip through the proxy: a request the guard sent before it has
 * reached the proxy once this one is answered (the pace of real callers,
 * whose calls arrive over the network too).
 */
const ioTurn = async (proxy: { url: string }) => {
  await (await fetch(`${proxy.url}/.well-known/openid-configuration`)).arrayBuffer();
};

/** 'waiting' when `answer` is not settled once the microtasks have run: the guard went to keyport. */
const settledAtOnce = <T>(answer: Promise<T>) =>
  Promise.race([answer, new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);

describe.each(DATABASES)('guard lease renewal ahead of the end, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  let teamId: number;
  let rs: { id: string; secret: string };
  const guards: KeyportGuard[] = [];
  const heard = new Map<KeyportGuard, string[]>();
  /** Calls the guards answered 200, by key. */
  const allowed = new Map<string, number>();
  /** guard.verify(key), its 200s counted. */
  const call = (guard: KeyportGuard, key: string) =>
    guard.verify(key).then((verdict) => {
      if (verdict.status === 200) allowed.set(key, (allowed.get(key) ?? 0) + 1);
      return verdict;
    });
  /** The key's usage_count once the guard reported what its leases served. */
  const usageOf = async (guard: KeyportGuard, id: string) => {
    await guard.close();
    await server.keyport.usage.flush();
    return Number((await server.keyport.db('o_auth_clients').where({ client_id: id }).first()).usage_count);
  };

  const guardOf = () => {
    const seen: string[] = [];
    const guard = keyportGuard({
      issuer: proxy.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      maxLease: 20,
      // Each renewal sent at once (the next turn of the event loop), as a lone renewal is: these tests
      // pace their calls by keyport's round trips. The batching wait has its own tests (guard-renewal-batch).
      renewalWaitMs: 0,
      onChange: (id) => seen.push(id),
    });
    guards.push(guard);
    heard.set(guard, seen);
    return guard;
  };
  const newKey = async (scopes = ['api:read'], team = teamId) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId: team, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** Calls until one is answered from a lease of 20 (no round trip). */
  const warm = async (guard: KeyportGuard, key: string) => {
    expect((await call(guard, key)).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    for (let i = 0; i < 60; i++) {
      const before = proxy.verifications.length;
      expect((await call(guard, key)).status).toBe(200);
      if (proxy.verifications.length === before && proxy.verifications.at(-1)?.lease === 20) return;
    }
    throw new Error('no call was answered from a lease of 20');
  };
  /** Calls answered from the lease until the guard asks keyport again; the calls made, and whether one waited. */
  const callUntilAsked = async (guard: KeyportGuard, key: string) => {
    const before = proxy.verifications.length;
    for (let calls = 1; calls <= 25; calls++) {
      const answer = await settledAtOnce(call(guard, key));
      await ioTurn(proxy);
      if (answer === 'waiting' || proxy.verifications.length > before) return { calls, answer };
      expect(answer.status).toBe(200);
    }
    throw new Error('25 calls and the guard never asked keyport again (a lease of 20)');
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    proxy = await holdingProxy(server.url);
  });
  afterEach(() => {
    proxy.hold = false;
    proxy.fail = false;
    for (const release of proxy.held.splice(0)) release();
  });
  afterAll(async () => {
    for (const guard of guards) guard.close();
    for (const release of proxy?.held ?? []) release();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await server?.close();
    await drop?.();
  });

  it('the next lease is asked while a quarter of the lease is left; calls meanwhile never wait on keyport', async () => {
    const guard = guardOf();
    const key = await newKey();
    await warm(guard, key.secret);
    proxy.hold = true;
    const asked = await callUntilAsked(guard, key.secret);
    // The renewal went with a call the lease answered: that call did not wait for it.
    expect(asked.answer).not.toBe('waiting');
    expect(proxy.held).toHaveLength(1);
    expect(proxy.verifications.at(-1)).toMatchObject({ key: key.secret, cost: 0, lease: 20 });
    // With keyport holding the renewal, what is left of the lease still answers at once, and asks nothing more.
    for (let i = 0; i < 3; i++) expect(await settledAtOnce(call(guard, key.secret))).toMatchObject({ status: 200 });
    expect(proxy.held).toHaveLength(1);
    proxy.hold = false;
    proxy.held.shift()!();
    // With the renewed lease, 40 more calls (two leases' worth) are served with renewals only: no call went to keyport.
    const before = proxy.verifications.length;
    for (let i = 0; i < 40; i++) {
      expect((await call(guard, key.secret)).status).toBe(200);
      await ioTurn(proxy);
    }
    expect(proxy.verifications.length - before).toBeLessThanOrEqual(3);
    expect(proxy.verifications.slice(before).every((v) => v.cost === 0)).toBe(true);
  });

  it('a renewal is no call: the key counts exactly the calls its leases served', async () => {
    const guard = guardOf();
    const key = await newKey();
    for (let i = 0; i < 100; i++) expect((await call(guard, key.secret)).status).toBe(200);
    expect(proxy.verifications.filter((v) => v.key === key.secret && v.cost === 0).length).toBeGreaterThan(0);
    expect(await usageOf(guard, key.id)).toBe(100);
  });

  it('a renewal keyport refuses (the key revoked by hand in the table) drops the key at once', async () => {
    const guard = guardOf();
    const key = await newKey();
    await warm(guard, key.secret);
    // A change made in the table is not pushed: the guard learns of it from the renewal's answer.
    await server.keyport.db('o_auth_clients').where({ client_id: key.id }).update({ revoked_at: 1 });
    const asked = await callUntilAsked(guard, key.secret);
    expect(asked.answer).not.toBe('waiting');
    await until(() => heard.get(guard)!.includes(key.id), 'the refused renewal forgot the key');
    expect((await guard.verify(key.secret)).status).toBe(401);
  });

  it('a renewal that fails leaves the lease serving what it holds, tried once, and loses no call', async () => {
    const guard = guardOf();
    const key = await newKey();
    await warm(guard, key.secret);
    const before = proxy.verifications.length;
    proxy.fail = true;
    let served = 0;
    let last = 200;
    for (let i = 0; i < 30 && last === 200; i++) {
      last = (await call(guard, key.secret)).status;
      if (last === 200) served += 1;
      // Each failure comes back before the next call: a renewal tried again per call would show here.
      await ioTurn(proxy);
    }
    proxy.fail = false;
    // One renewal, then the call that found the lease spent (503: keyport out of reach); not one per call.
    expect(last).toBe(503);
    expect(proxy.verifications.length - before).toBe(2);
    expect(proxy.verifications.slice(before).map((v) => v.cost)).toEqual([0, 1]);
    expect(served).toBeGreaterThan(1);
    // The calls served meanwhile went with the failed verifications: reported later, not lost.
    expect(proxy.verifications.at(-1)?.leased_calls).toBeGreaterThan(0);
    expect(await usageOf(guard, key.id)).toBe(allowed.get(key.secret));
  });

  it('close() waits for a renewal on its way: the calls it carried are reported even when it fails', async () => {
    const guard = guardOf();
    const key = await newKey();
    await warm(guard, key.secret);
    proxy.hold = true;
    await callUntilAsked(guard, key.secret);
    expect(proxy.held).toHaveLength(1);
    expect(proxy.verifications.at(-1)?.leased_calls).toBeGreaterThan(0);
    const closing = guard.close();
    proxy.fail = true;
    proxy.held.shift()!();
    await closing;
    await server.keyport.usage.flush();
    const row = await server.keyport.db('o_auth_clients').where({ client_id: key.id }).first();
    expect(Number(row.usage_count)).toBe(allowed.get(key.secret));
  });

  it('a renewal answered VALID with no lease and the key changed (scopes narrowed by hand) drops the key', async () => {
    const dailyTeam = (await server.keyport.teamService.createTeam({ name: 'Daily', plan: 'daily' })).id;
    const key = await newKey(['api:read', 'api:write'], dailyTeam);
    const guard = guardOf();
    const read = { scopes: ['api:read'] };
    expect((await guard.verify(key.secret, read)).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    let before = proxy.verifications.length;
    for (let i = 0; i < 30 && proxy.verifications.length - before < 3; i++) await guard.verify(key.secret, read);
    // Nearly all of the day's budget spent elsewhere: a renewal now gets no lease (a quarter of what is left is 0).
    const look = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${rs.id}:${rs.secret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ key: key.secret, cost: 0 }),
    });
    const left = ((await look.json()) as { ratelimit: { remaining: number } }).ratelimit.remaining;
    await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${rs.id}:${rs.secret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ key: key.secret, cost: left - 2 }),
    });
    // By hand in the table: not pushed. The lease's identity still says api:write.
    await server.keyport.db('o_auth_clients').where({ client_id: key.id }).update({ scopes: 'api:read' });
    before = proxy.verifications.length;
    for (let i = 0; i < 25 && !heard.get(guard)!.includes(key.id); i++) {
      expect((await guard.verify(key.secret, read)).status).toBe(200);
      await ioTurn(proxy);
    }
    const renewal = proxy.verifications.slice(before).find((v) => v.cost === 0);
    expect(renewal).toBeDefined();
    await until(() => heard.get(guard)!.includes(key.id), 'the changed key forgotten');
    expect((await guard.verify(key.secret, { scopes: ['api:write'] })).status).toBe(403);
  });
});
