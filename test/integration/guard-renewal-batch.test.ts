import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { manualClock } from '../../src/clock.js';
// @ts-expect-error the guard's renewal queue is plain JavaScript with no declarations (not part of its API)
import { createRenewalQueue } from '../../packages/guard/renewals.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 27, (f) and (g): a guard with many busy keys renewed each key's lease
 * in a round trip of its own (about a third of the keys each second), and each
 * cost keyport a request. Renewals asked within `renewalWaitMs` of each other
 * now go in one POST /keys/verify/batch; a key about to run out does not wait
 * for the others; a keyport without the route gets them one by one.
 */
const settings = {
  plans: { pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] } },
};

/** A proxy in front of keyport recording the guard's requests by path; `noBatch` answers the batch route 404. */
async function recordingProxy(upstream: string) {
  const proxy = {
    paths: [] as string[],
    batches: [] as Array<Array<Record<string, unknown>>>,
    /** Every verification asked, alone or in a batch. */
    verifications: [] as Array<Record<string, unknown>>,
    noBatch: false,
    url: '',
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST') proxy.paths.push(req.url!);
        if (req.url === '/keys/verify/batch') {
          if (proxy.noBatch) return res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
          const { items } = JSON.parse(body.toString('utf8')) as { items: Array<Record<string, unknown>> };
          proxy.batches.push(items);
          proxy.verifications.push(...items);
        }
        if (req.url === '/keys/verify')
          proxy.verifications.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
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
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  return proxy;
}

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

/** 'waiting' when `answer` is not settled once the microtasks have run: the call waited on keyport. */
const settledAtOnce = <T>(answer: Promise<T>) =>
  Promise.race([answer, new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);

describe.each(DATABASES)('guard lease renewals sent together, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let teamId: number;
  let rs: { id: string; secret: string };
  const guards: KeyportGuard[] = [];

  const guardOf = (renewalWaitMs?: number) => {
    const guard = keyportGuard({
      issuer: proxy.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      maxLease: 20,
      renewalWaitMs,
    });
    guards.push(guard);
    return guard;
  };
  const newKeys = async (n: number) => {
    const keys: Array<{ id: string; secret: string }> = [];
    for (let i = 0; i < n; i++) {
      const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
      keys.push({ id: created.client.client_id, secret: created.clientSecret! });
    }
    return keys;
  };
  /** Calls each key in turn until each holds a lease of 20 (none of them waits on keyport after that). */
  const warm = async (guard: KeyportGuard, keys: Array<{ secret: string }>) => {
    for (const key of keys) expect((await guard.verify(key.secret)).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    for (let round = 0; round < 4; round++)
      for (const key of keys) expect((await guard.verify(key.secret)).status).toBe(200);
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    proxy = await recordingProxy(server.url);
  });
  afterAll(async () => {
    for (const guard of guards) await guard.close();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await server?.close();
    await drop?.();
  });

  it('the renewals of keys running low together go in one batch, in fewer requests than renewals', async () => {
    const guard = guardOf(200);
    const keys = await newKeys(6);
    await warm(guard, keys);
    const batchesBefore = proxy.batches.length;
    const pathsBefore = proxy.paths.length;
    // The keys' leases down to their renewal marks, in turn: several renewals due within the wait, each
    // sent at its key's next call at the latest.
    for (let i = 0; i < 60; i++) for (const key of keys) expect((await guard.verify(key.secret)).status).toBe(200);
    await until(() => proxy.batches.length > batchesBefore, 'a batch was sent');
    const batch = proxy.batches[batchesBefore]!;
    expect(batch.length).toBeGreaterThan(1);
    for (const item of batch) {
      expect(item.cost).toBe(0);
      expect(item.lease).toBeGreaterThan(0);
    }
    expect(new Set(batch.map((item) => item.key)).size).toBe(batch.length);
    // Fewer requests than renewals: the batch carried several keys' renewals.
    const renewals = proxy.batches.slice(batchesBefore).reduce((n, b) => n + b.length, 0);
    expect(proxy.paths.length - pathsBefore).toBeLessThan(renewals);
  });

  it("a busy key's renewal waits no longer than its next call: its calls never wait on the batch", async () => {
    // A wait no test would sit out: the renewal goes with the key's next call.
    const guard = guardOf(60_000);
    const [key] = await newKeys(1);
    await warm(guard, [key!]);
    // Paced by keyport's round trips (as callers over a network are), until its lease is of 20 calls.
    const ioTurn = async () => (await fetch(`${proxy.url}/.well-known/openid-configuration`)).arrayBuffer();
    for (let quiet = 0, i = 0; quiet < 10; i++) {
      if (i > 200) throw new Error('the key never held a lease of 20');
      const sent = proxy.paths.length;
      expect((await guard.verify(key!.secret)).status).toBe(200);
      await ioTurn();
      quiet = proxy.paths.length === sent ? quiet + 1 : 0;
    }
    // The renewal is due at a quarter of the lease left (5 calls) and waits for others; the key's next call
    // sends it: it reaches keyport while the lease still serves, long before the 60-s wait.
    const before = proxy.paths.length;
    for (let i = 0; proxy.paths.length === before; i++) {
      if (i > 20) throw new Error('20 calls and the renewal was never sent');
      const answer = await settledAtOnce(guard.verify(key!.secret));
      expect(answer).not.toBe('waiting');
      expect(answer).toMatchObject({ status: 200 });
      await ioTurn();
    }
    expect(proxy.paths.slice(before)).toEqual(['/keys/verify']);
  });

  it("a key called hundreds of times a second is leased up to keyport's 1,000 calls at once by default", async () => {
    // The default maxLease: a lease of 100 lasted a busy key a few tenths of a second (10 round trips a second).
    const guard = keyportGuard({ issuer: proxy.url, clientId: rs.id, clientSecret: rs.secret });
    guards.push(guard);
    const [key] = await newKeys(1);
    await warm(guard, [key!]);
    const before = proxy.verifications.length;
    for (let i = 0; i < 3000; i++) expect((await guard.verify(key!.secret)).status).toBe(200);
    const asked = proxy.verifications.slice(before).map((v) => Number(v.lease ?? 0));
    expect(Math.max(...asked)).toBeGreaterThan(100);
    expect(Math.max(...asked)).toBeLessThanOrEqual(1000);
  });

  /** The guard's own post() for the renewal queue, straight to keyport: `{status, text}`. */
  const post = async (body: string, path: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, text: await res.text() };
  };
  type Ask = (request: Record<string, unknown>, digest: string) => Promise<{ code: string }>;

  it("a renewal keyport refuses as malformed (an odd caller address) fails no other key's renewal in its batch", async () => {
    const [a, b] = (await newKeys(2)).map((k) => k.secret);
    const queue = createRenewalQueue({ post, waitMs: 50 }) as { ask: Ask };
    // Whatever the address: a lease serves a key with no allowlist from any, and a renewal carries the last one.
    const [answerA, answerB] = await Promise.allSettled([
      queue.ask({ key: a, scopes: [], cost: 0, lease: 10 }, 'digest-a'),
      queue.ask({ key: b, scopes: [], cost: 0, lease: 10, ip: 'not an address' }, 'digest-b'),
    ]);
    expect(answerA).toMatchObject({ status: 'fulfilled', value: { code: 'VALID' } });
    expect(answerB).toMatchObject({ status: 'rejected' });
  });

  it("50 renewals of long credentials are answered: a batch stays under keyport's 128 kB", async () => {
    const queue = createRenewalQueue({ post, waitMs: 50 }) as { ask: Ask };
    const long = (i: number) => `${'t'.repeat(2990)}${String(i).padStart(10, '0')}`;
    const answers = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => queue.ask({ key: long(i), scopes: [], cost: 0, lease: 10 }, `d${i}`)),
    );
    expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
    expect(answers[0]).toMatchObject({ status: 'fulfilled', value: { code: 'NOT_FOUND' } });
  });

  it("a call its lease cannot serve sends its key's queued renewal at once, not after the wait", async () => {
    const guard = keyportGuard({
      issuer: server.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      maxLease: 20,
      renewalWaitMs: 60_000,
    });
    guards.push(guard);
    const waited: number[] = [];
    // After n calls one of them left a quarter of the lease and queued its renewal (which n, the test does not
    // know): the next call, costing more than any lease holds, must go to keyport, past the queued renewal.
    for (let n = 1; n <= 24; n++) {
      const [key] = await newKeys(1);
      expect((await guard.verify(key!.secret)).status).toBe(200);
      await until(() => guard.live, 'the event stream beats');
      for (let i = 0; i < 40; i++) expect((await guard.verify(key!.secret)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < n; i++) expect((await guard.verify(key!.secret)).status).toBe(200);
      const big = await Promise.race([
        guard.verify(key!.secret, { cost: 50 }),
        new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), 3000).unref()),
      ]);
      if (big === 'timed out') waited.push(n);
      else expect(big.status).toBe(200);
    }
    expect(waited, 'calls that waited 3 s on a renewal queued for a minute').toEqual([]);
  }, 60_000);

  it('many busy keys renewed together, their calls concurrent: each usage_count is the calls allowed', async () => {
    for (const renewalWaitMs of [0, 5, 50]) {
      const guard = keyportGuard({
        issuer: proxy.url,
        clientId: rs.id,
        clientSecret: rs.secret,
        renewalWaitMs,
        maxLease: 30,
      });
      const keys = await newKeys(8);
      const allowed = new Map<string, number>();
      const call = async (key: string) => {
        if ((await guard.verify(key)).status === 200) allowed.set(key, (allowed.get(key) ?? 0) + 1);
      };
      for (const key of keys) await call(key.secret);
      await until(() => guard.live, 'the event stream beats');
      for (let round = 0; round < 100; round++)
        await Promise.all(keys.flatMap((k) => [call(k.secret), call(k.secret)]));
      await guard.close();
      await server.keyport.usage.flush();
      for (const key of keys) {
        const row = await server.keyport.db('o_auth_clients').where({ client_id: key.id }).first();
        expect([renewalWaitMs, Number(row.usage_count)]).toEqual([renewalWaitMs, allowed.get(key.secret)]);
      }
    }
  }, 60_000);

  it('a caller at a link-local IPv6 address (with its zone, as Node gives it) is verified, not refused 503', async () => {
    const guard = guardOf();
    const [key] = await newKeys(1);
    const answer = await guard.verify(key!.secret, { ip: 'fe80::1%eth0' });
    expect(answer.status).toBe(200);
  });

  it('a keyport without the batch route (404) gets the renewals one by one, and the leases keep serving', async () => {
    proxy.noBatch = true;
    try {
      const guard = guardOf(200);
      const keys = await newKeys(4);
      await warm(guard, keys);
      const before = proxy.paths.length;
      for (let i = 0; i < 80; i++) for (const key of keys) expect((await guard.verify(key.secret)).status).toBe(200);
      await until(
        () => proxy.paths.slice(before).filter((path) => path === '/keys/verify').length >= 2,
        'renewals one by one',
      );
      // Asked once as a batch, then never again: one by one from the 404 on.
      expect(proxy.paths.slice(before).filter((path) => path === '/keys/verify/batch').length).toBeLessThanOrEqual(1);
    } finally {
      proxy.noBatch = false;
    }
  });
});

describe('a lease whose time runs out before its calls do', () => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let guard: KeyportGuard;
  let key: string;

  beforeAll(async () => {
    const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;
    const created = await sqlite.create();
    drop = created.drop;
    // keyport's clock stands 2 s before a minute ends: every lease lives 2 s (never past the window's end).
    const clock = manualClock((Math.floor(Date.now() / 60_000) + 1) * 60_000 - 2000);
    server = await startServer(created.url, settings, { clock });
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    key = (await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] })).clientSecret!;
    proxy = await recordingProxy(server.url);
    guard = keyportGuard({
      issuer: proxy.url,
      clientId: r.client.client_id,
      clientSecret: r.clientSecret!,
      renewalWaitMs: 0,
    });
  });
  afterAll(async () => {
    await guard?.close();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await server?.close();
    await drop?.();
  });

  it('is renewed in the background with a quarter of its time left: no call finds it ended', async () => {
    // Busy first (a lease sized for about four seconds of these calls), then ten calls a second for 5 s:
    // the lease's calls outlast its 2 s.
    for (let i = 0; i < 30; i++) expect((await guard.verify(key)).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    for (let i = 0; i < 30; i++) expect((await guard.verify(key)).status).toBe(200);
    const before = proxy.verifications.length;
    for (let i = 0; i < 50; i++) {
      expect((await guard.verify(key)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    const asked = proxy.verifications.slice(before);
    // Renewals only (cost 0, in the background); a call finding its lease ended would have cost 1.
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.map((v) => v.cost)).toEqual(asked.map(() => 0));
  });
});
