import { createServer, type Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 24, item 11: the guard's README promises `X-RateLimit-*` on every
 * answer for a key keyport knows as usable, the 403s included. A refusal
 * for a missing scope or a plan without API access spends nothing, so the
 * state shown is a look at the key's budget, not a call of it.
 */
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

describe.each(DATABASES)('X-RateLimit-* on refusals, on $name', (database) => {
  let keyport: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  let guard: KeyportGuard;
  let app: Server;
  let appUrl: string;
  let proTeam: number;

  const newKey = async (team: number, scopes = ['api:read']) => {
    const created = await keyport.keyport.clientService.createServiceAccount({ teamId: team, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** A key of a team whose plan then lost API access (a downgrade, made as the runbook does: in the table). */
  const downgradedKey = async () => {
    const team = (await keyport.keyport.teamService.createTeam({ name: 'Downgraded', plan: 'pro' })).id;
    const key = await newKey(team);
    await keyport.keyport.db('teams').where({ id: team }).update({ plan: 'free' });
    return key;
  };
  const verify = async (body: Record<string, unknown>) => {
    const res = await fetch(`${keyport.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const call = async (path: string, key: string) => {
    const res = await fetch(`${appUrl}${path}`, { headers: { 'x-api-key': key } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const limitHeaders = (headers: Headers) => ({
    limit: headers.get('x-ratelimit-limit'),
    remaining: headers.get('x-ratelimit-remaining'),
    reset: headers.get('x-ratelimit-reset'),
  });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    keyport = await startServer(created.url, {
      plans: {
        // The hour is the tightest window, so no test crosses its end.
        pro: { api_access: true, max_keys: 100, rate_limits: [1000, 50, 100_000] },
        free: { api_access: false, max_keys: 10, rate_limits: [100, 30, 1000] },
      },
    });
    proTeam = (await keyport.keyport.teamService.createTeam({ name: 'Pro', plan: 'pro' })).id;
    const r = await keyport.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    // cache: false: every call is a round trip, so each answer is keyport's own.
    guard = keyportGuard({ issuer: keyport.url, clientId: rs.id, clientSecret: rs.secret, cache: false });
    const koa = new Koa();
    koa.use(async (ctx, next) => {
      const route = ctx.path.startsWith('/runs') ? guard.koa({ scopes: ['api:write'] }) : guard.koa();
      await route(ctx, next);
    });
    koa.use((ctx) => {
      ctx.body = { ok: true };
    });
    app = createServer(koa.callback());
    appUrl = await listen(app);
  });
  afterAll(async () => {
    await guard?.close();
    app?.close();
    await keyport?.close();
    await drop?.();
  });

  it('INSUFFICIENT_SCOPE answers the key’s rate-limit state and spends none of it', async () => {
    const key = await newKey(proTeam);
    const first = await verify({ key: key.secret, scopes: ['api:read'] });
    expect(first.body.ratelimit).toEqual({ limit: 50, remaining: 49, reset: expect.any(Number) });
    const refused = await verify({ key: key.secret, scopes: ['api:write'] });
    expect(refused.body.code).toBe('INSUFFICIENT_SCOPE');
    expect(refused.body.ratelimit).toEqual({ limit: 50, remaining: 49, reset: first.body.ratelimit.reset });
    expect(limitHeaders(refused.headers)).toEqual({
      limit: '50',
      remaining: '49',
      reset: String(first.body.ratelimit.reset),
    });
    // Nothing was spent by the refusal: the next call is the second.
    expect((await verify({ key: key.secret })).body.ratelimit.remaining).toBe(48);
  });

  it('NO_API_ACCESS answers the key’s rate-limit state and spends none of it', async () => {
    const key = await downgradedKey();
    const refused = await verify({ key: key.secret });
    expect(refused.body.code).toBe('NO_API_ACCESS');
    expect(refused.body.ratelimit).toEqual({ limit: 30, remaining: 30, reset: expect.any(Number) });
    expect(limitHeaders(refused.headers).remaining).toBe('30');
    expect((await verify({ key: key.secret })).body.ratelimit.remaining).toBe(30);
  });

  it("the guard's 403s carry X-RateLimit-Limit, -Remaining and -Reset, as its README says", async () => {
    const reader = await newKey(proTeam);
    expect((await call('/projects', reader.secret)).status).toBe(200);
    const scope = await call('/runs', reader.secret);
    expect(scope.status).toBe(403);
    expect(scope.body.error).toBe('insufficient_permissions');
    expect(limitHeaders(scope.headers)).toEqual({ limit: '50', remaining: '49', reset: expect.any(String) });

    const free = await downgradedKey();
    const plan = await call('/projects', free.secret);
    expect(plan.status).toBe(403);
    expect(plan.body.error).toBe('insufficient_permissions');
    expect(limitHeaders(plan.headers)).toEqual({ limit: '30', remaining: '30', reset: expect.any(String) });

    // An unknown, revoked or expired key looks the same: 401 and no rate-limit state.
    await keyport.keyport.clientService.revoke(reader.id);
    const revoked = await call('/projects', reader.secret);
    expect(revoked.status).toBe(401);
    expect(limitHeaders(revoked.headers)).toEqual({ limit: null, remaining: null, reset: null });
  });
});
