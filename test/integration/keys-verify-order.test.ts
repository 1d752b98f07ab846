import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

const OPERATOR = 'o'.repeat(40);
const settings = {
  admin_token: OPERATOR,
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    tight: { api_access: true, max_keys: 100, rate_limits: [10, 1000, 10_000] },
    starter: { api_access: false, max_keys: 10 },
  },
};

/** Issue 22 item 4: the pipeline's order of checks, seen through real `/keys/verify` requests. */
describe.each(DATABASES)('the order of the key checks, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  const teams: Record<string, number> = {};

  const verify = async (body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, any>;
  };
  const newKey = async (team: string, input: Record<string, unknown> = {}) => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: teams[team]!,
      scopes: ['api:read'],
      ...input,
    });
    return { id: created.client.client_id, secret: created.clientSecret!, team };
  };
  const usageOf = async (key: { id: string; team: string }) => {
    await server.keyport.keyUsage.flush();
    const res = await fetch(`${server.url}/api/teams/${teams[key.team]}/clients/${key.id}/usage?granularity=hour`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Array<Record<string, number | string>> };
    const total = { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 };
    for (const row of data) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += Number(row[k]);
    return total;
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings, { clock: pinnedClock });
    for (const plan of ['pro', 'tight'])
      teams[plan] = (await server.keyport.teamService.createTeam({ name: plan, plan })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a revoked key over its budget answers REVOKED and spends nothing: no budget, no credits, no usage', async () => {
    const key = await newKey('tight', { credits: { remaining: 100, refill: null } });
    expect(await verify({ key: key.secret, cost: 10 })).toMatchObject({
      code: 'VALID',
      ratelimit: { remaining: 0 },
      credits: { remaining: 90 },
    });
    await server.keyport.clientService.revoke(key.id);
    for (let i = 0; i < 3; i++)
      expect(await verify({ key: key.secret, scopes: ['api:write'] })).toMatchObject({
        valid: false,
        code: 'REVOKED',
        ratelimit: null,
        credits: { remaining: 90 },
      });
    expect(await usageOf(key)).toEqual({ valid: 1, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 });
  });

  it('an expired key asked for a scope it lacks answers EXPIRED, and is not counted', async () => {
    const key = await newKey('pro', { expiresInDays: 1 });
    await server.keyport.db('o_auth_clients').where({ client_id: key.id }).update({ expires_at: 1 });
    expect(await verify({ key: key.secret, scopes: ['api:write'] })).toMatchObject({ valid: false, code: 'EXPIRED' });
    expect(await usageOf(key)).toEqual({ valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 });
  });

  it('a key of a plan without API access asked for a scope it lacks answers NO_API_ACCESS, and is not counted', async () => {
    const team = (await server.keyport.teamService.createTeam({ name: 'was pro', plan: 'pro' })).id;
    teams.downgraded = team;
    const key = await newKey('downgraded');
    await server.keyport.db('teams').where({ id: team }).update({ plan: 'starter' });
    expect(await verify({ key: key.secret, scopes: ['api:write'] })).toMatchObject({
      valid: false,
      code: 'NO_API_ACCESS',
    });
    expect(await usageOf(key)).toEqual({ valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 });
  });

  it('a missing scope spends no budget; credits run out before the budget; each outcome counted once', async () => {
    const key = await newKey('tight', { credits: { remaining: 2, refill: null } });
    const codes: string[] = [];
    codes.push((await verify({ key: key.secret })).code);
    // Refused for its scope: nothing spent, so the budget below is 10 less the 3 calls that reach it.
    codes.push((await verify({ key: key.secret, scopes: ['api:write'], cost: 10 })).code);
    codes.push((await verify({ key: key.secret })).code);
    const exceeded = await verify({ key: key.secret });
    codes.push(exceeded.code);
    expect(exceeded).toMatchObject({ credits: { remaining: 0 }, ratelimit: { remaining: 7 } });
    const limited = await verify({ key: key.secret, cost: 10 });
    codes.push(limited.code);
    expect(limited).toMatchObject({ retry_after: expect.any(Number), credits: { remaining: 0 } });
    expect(codes).toEqual(['VALID', 'INSUFFICIENT_SCOPE', 'VALID', 'USAGE_EXCEEDED', 'RATE_LIMITED']);
    expect(await usageOf(key)).toEqual({ valid: 2, rate_limited: 1, usage_exceeded: 1, insufficient_scope: 1 });
  });
});
