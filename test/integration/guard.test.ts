import { manualClock } from '../../src/clock.js';
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, isPlausibleKey } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freePort } from '../helpers/cli.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

/** A GET with any headers (several of one name too), from a real client. */
function get(url: string, headers: Array<[string, string]> = [], method = 'GET') {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Record<string, any>;
  }>((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : {} }),
      );
    });
    for (const [name, value] of headers) req.appendHeader(name, value);
    req.on('error', reject);
    req.end();
  });
}

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

/** Issue 15, item 6: the guard in front of real HTTP apps, against a real keyport. */
describe.each(DATABASES)('@keyport/guard on $name', (database) => {
  let keyport: TestServer;
  let drop: () => Promise<void>;
  let connectApp: Server;
  let koaApp: Server;
  let connectUrl: string;
  let koaUrl: string;
  let teamId: number;
  let verifications = 0;
  let counter: Server;

  const newKey = async (scopes = ['api:read'], team = teamId) => {
    const created = await keyport.keyport.clientService.createServiceAccount({ teamId: team, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    keyport = await startServer(
      created.url,
      {
        plans: {
          pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
          tiny: { api_access: true, max_keys: 10, rate_limits: [2, 100, 1000] },
        },
      },
      { clock: pinnedClock },
    );
    teamId = (await keyport.keyport.teamService.createTeam({ name: 'Bug0', plan: 'pro' })).id;
    const rs = await keyport.keyport.clientService.createResourceServer({ name: 'api' });
    // The guard reaches keyport through a forwarding proxy that counts its round trips.
    counter = createServer((req, res) => {
      if (req.url === '/keys/verify') verifications += 1;
      const upstream = httpRequest(
        `${keyport.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const counted = await listen(counter);
    const guard = keyportGuard({ issuer: counted, clientId: rs.client.client_id, clientSecret: rs.clientSecret! });

    // Connect-style (what Express runs): three lines protect every route.
    const all = guard.express();
    const writers = guard.express({ scopes: ['api:write'] });
    connectApp = createServer((req, res) => {
      const chain = req.url?.startsWith('/runs') ? writers : all;
      chain(req as never, res, () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ hello: 'world', keyport: (req as { keyport?: unknown }).keyport }));
      });
    });
    connectUrl = await listen(connectApp);

    const koa = new Koa();
    koa.use(guard.koa());
    koa.use((ctx) => {
      ctx.body = { hello: 'koa', keyport: ctx.state.keyport };
    });
    koaApp = createServer(koa.callback());
    koaUrl = await listen(koaApp);
  });
  afterAll(async () => {
    connectApp?.close();
    koaApp?.close();
    counter?.close();
    await keyport?.close();
    await drop?.();
  });

  it('Authorization: Bearer and x-api-key both work, in Connect and Koa, with the caller on the request', async () => {
    const key = await newKey();
    for (const base of [connectUrl, koaUrl]) {
      for (const header of [
        ['authorization', `Bearer ${key.secret}`],
        ['x-api-key', key.secret],
      ] as Array<[string, string]>) {
        const res = await get(`${base}/projects`, [header]);
        expect(res.status, `${base} ${header[0]}`).toBe(200);
        expect(res.body.keyport).toEqual({
          team_id: teamId,
          client_id: key.id,
          environment: 'prod',
          scopes: ['api:read'],
          meta: null,
          permissions: [],
        });
        expect(res.headers['x-ratelimit-limit']).toBe('1000');
        expect(Number(res.headers['x-ratelimit-remaining'])).toBeGreaterThan(0);
      }
    }
  });

  it('refusals are the documented answers, with X-RateLimit-* where the key is known', async () => {
    expect((await get(`${connectUrl}/projects`)).body).toEqual({
      error: 'invalid_api_key',
      message: 'API key is invalid or expired',
    });
    const reader = await newKey(['api:read']);
    const forbidden = await get(`${connectUrl}/runs`, [['x-api-key', reader.secret]]);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe('insufficient_permissions');
    const writer = await newKey(['api:read', 'api:write']);
    expect((await get(`${connectUrl}/runs`, [['x-api-key', writer.secret]])).status).toBe(200);

    const tinyTeam = (await keyport.keyport.teamService.createTeam({ name: 'Tiny', plan: 'tiny' })).id;
    const tiny = await newKey(['api:read'], tinyTeam);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await get(`${connectUrl}/projects`, [['x-api-key', tiny.secret]]));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[2]!.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(answers[2]!.headers['retry-after']).toBe(String(answers[2]!.body.retry_after));
    expect(answers[2]!.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('a key used now and then gets no lease: its revocation is felt at the very next request', async () => {
    const key = await newKey();
    expect((await get(`${koaUrl}/projects`, [['authorization', `Bearer ${key.secret}`]])).status).toBe(200);
    await keyport.keyport.clientService.revoke(key.id);
    expect((await get(`${koaUrl}/projects`, [['authorization', `Bearer ${key.secret}`]])).status).toBe(401);
  });

  it('7. bad input is refused with a 4xx, most without a round trip', async () => {
    const key = await newKey();
    const typo = key.secret.slice(0, -1) + (key.secret.endsWith('a') ? 'b' : 'a');
    expect(isPlausibleKey(typo)).toBe(false);
    const before = verifications;
    const cases: Array<[string, Array<[string, string]>, number]> = [
      ['a mistyped key', [['x-api-key', typo]], 401],
      ['a 10 KB key', [['x-api-key', 'k'.repeat(10_000)]], 401],
      ['non-UTF-8 bytes', [['x-api-key', `${key.secret.slice(0, 10)}\xe9\xff`]], 401],
      [
        'two keys in two headers',
        [
          ['authorization', `Bearer ${key.secret}`],
          ['x-api-key', key.secret],
        ],
        400,
      ],
      [
        'two x-api-key headers',
        [
          ['x-api-key', key.secret],
          ['x-api-key', key.secret],
        ],
        400,
      ],
      ['Basic instead of Bearer', [['authorization', `Basic ${key.secret}`]], 401],
    ];
    for (const [what, headers, status] of cases)
      expect((await get(`${connectUrl}/projects`, headers)).status, what).toBe(status);
    // A plausible key does go to keyport (the counter is live).
    expect((await get(`${connectUrl}/projects`, [['x-api-key', key.secret]])).status).toBe(200);
    expect(verifications).toBe(before + 1);
    const inQuery = await get(`${connectUrl}/projects?api_key=${key.secret}`);
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.message).toMatch(/never in the URL/);
    expect(verifications).toBe(before + 1);
  });

  it('fails closed: keyport unreachable answers 503, never lets the request through', async () => {
    const key = await newKey();
    const port = await freePort();
    const guard = keyportGuard({
      issuer: `http://127.0.0.1:${port}`,
      clientId: 'x',
      clientSecret: 'y',
      timeoutMs: 500,
    });
    const app = createServer((req, res) => guard.express()(req as never, res, () => res.end('let through')));
    const url = await listen(app);
    const res = await get(`${url}/projects`, [['x-api-key', key.secret]]);
    app.close();
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('service_unavailable');
  });

  it('the example app answers the BugBrain curl', async () => {
    const rs = await keyport.keyport.clientService.createResourceServer({ name: 'example' });
    const key = await newKey();
    const port = await freePort();
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../examples/hello-api.mjs')], {
      env: {
        ...process.env,
        PORT: String(port),
        KEYPORT_ISSUER: keyport.url,
        KEYPORT_CLIENT_ID: rs.client.client_id,
        KEYPORT_CLIENT_SECRET: rs.clientSecret!,
      },
      stdio: 'ignore',
    });
    try {
      let res;
      for (let i = 0; i < 50; i++) {
        res = await get(`http://127.0.0.1:${port}/projects`, [['authorization', `Bearer ${key.secret}`]]).catch(
          () => undefined,
        );
        if (res) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(res?.status).toBe(200);
      expect(res?.body).toMatchObject({ team_id: teamId, projects: expect.any(Array) });
      expect((await get(`http://127.0.0.1:${port}/projects`, [['x-api-key', key.secret]])).status).toBe(200);
      expect((await get(`http://127.0.0.1:${port}/runs`, [['x-api-key', key.secret]], 'POST')).status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('keyportGuard options', () => {
  it('a maxLease keyport would refuse (over its 1,000, or not a whole number of calls) is refused at once', () => {
    const base = { issuer: 'http://127.0.0.1:9', clientId: 'rs', clientSecret: 's', cache: false };
    for (const maxLease of [0, 1001, 2.5, Number.NaN])
      expect(() => keyportGuard({ ...base, maxLease }), String(maxLease)).toThrow(
        /maxLease must be a whole number from 1 to 1000/,
      );
    expect(() => keyportGuard({ ...base, maxLease: 1000 })).not.toThrow();
  });
});
