import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

const settings = {
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    tight: { api_access: true, max_keys: 100, rate_limits: [2, 1000, 10_000] },
    starter: { api_access: false, max_keys: 10 },
  },
};

/** docs/contract.md, usage per hour by outcome: what each `/keys/verify` outcome counts. */
describe.each(DATABASES)('usage counted per /keys/verify outcome, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };

  const verify = async (body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return ((await res.json()) as { code: string }).code;
  };
  const newKey = async (plan: string, input: Record<string, unknown> = {}) => {
    const teamId = (await server.keyport.teamService.createTeam({ name: plan, plan })).id;
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'], ...input });
    return { id: created.client.client_id, secret: created.clientSecret!, teamId };
  };
  /** The hour's counts by outcome, and the key's lifetime use count (`usage_count`). */
  const countsOf = async (id: string) => {
    await server.keyport.keyUsage.flush();
    await server.keyport.usage.flush();
    const now = Math.floor(Date.now() / 1000);
    const report = await server.keyport.keyUsage.read(id, { from: now - 7200, to: now + 3600, granularity: 'hour' });
    const hour = report.data.reduce(
      (sum, h) => ({
        valid: sum.valid + h.valid,
        rate_limited: sum.rate_limited + h.rate_limited,
        usage_exceeded: sum.usage_exceeded + h.usage_exceeded,
        insufficient_scope: sum.insufficient_scope + h.insufficient_scope,
      }),
      { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0 },
    );
    const row = await server.keyport.db('o_auth_clients').where({ client_id: id }).first();
    return { ...hour, uses: Number(row.usage_count ?? 0) };
  };
  const none = { valid: 0, rate_limited: 0, usage_exceeded: 0, insufficient_scope: 0, uses: 0 };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings, { clock: pinnedClock });
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('VALID counts a valid call and a use', async () => {
    const key = await newKey('pro');
    for (let i = 0; i < 2; i++) expect(await verify({ key: key.secret })).toBe('VALID');
    expect(await countsOf(key.id)).toEqual({ ...none, valid: 2, uses: 2 });
  });

  it('INSUFFICIENT_SCOPE, RATE_LIMITED and USAGE_EXCEEDED each count under their own outcome, and no use', async () => {
    const scoped = await newKey('pro');
    expect(await verify({ key: scoped.secret, scopes: ['api:write'] })).toBe('INSUFFICIENT_SCOPE');
    expect(await countsOf(scoped.id)).toEqual({ ...none, insufficient_scope: 1 });

    const limited = await newKey('tight');
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await verify({ key: limited.secret }));
    expect(codes).toEqual(['VALID', 'VALID', 'RATE_LIMITED']);
    expect(await countsOf(limited.id)).toEqual({ ...none, valid: 2, rate_limited: 1, uses: 2 });

    const credited = await newKey('pro', { credits: { remaining: 1, refill: null } });
    expect([await verify({ key: credited.secret }), await verify({ key: credited.secret })]).toEqual([
      'VALID',
      'USAGE_EXCEEDED',
    ]);
    expect(await countsOf(credited.id)).toEqual({ ...none, valid: 1, usage_exceeded: 1, uses: 1 });
  });

  it('REVOKED, EXPIRED and NO_API_ACCESS count nothing', async () => {
    const revoked = await newKey('pro');
    await server.keyport.clientService.revoke(revoked.id);
    expect(await verify({ key: revoked.secret })).toBe('REVOKED');

    const expired = await newKey('pro', { expiresInDays: 1 });
    await server.keyport.db('o_auth_clients').where({ client_id: expired.id }).update({ expires_at: 1 });
    expect(await verify({ key: expired.secret })).toBe('EXPIRED');

    const lapsed = await newKey('pro');
    await server.keyport.db('teams').where({ id: lapsed.teamId }).update({ plan: 'starter' });
    expect(await verify({ key: lapsed.secret })).toBe('NO_API_ACCESS');

    for (const key of [revoked, expired, lapsed]) expect(await countsOf(key.id)).toEqual(none);
  });

  it("a guard's leased calls are counted as valid calls and uses, whatever this call comes to", async () => {
    const key = await newKey('pro');
    expect(await verify({ key: key.secret, leased_calls: 5 })).toBe('VALID');
    expect(await verify({ key: key.secret, leased_calls: 3, scopes: ['api:write'] })).toBe('INSUFFICIENT_SCOPE');
    expect(await countsOf(key.id)).toEqual({ ...none, valid: 9, insufficient_scope: 1, uses: 9 });
  });

  it('a guard renewing a lease ahead of its end (cost 0 with a lease) is no call: it counts nothing, its leased calls do', async () => {
    const key = await newKey('pro');
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key: key.secret, cost: 0, lease: 10, leased_calls: 4 }),
    });
    const body = (await res.json()) as { code: string; lease?: { calls: number } };
    expect(body.code).toBe('VALID');
    expect(body.lease?.calls).toBe(10);
    expect(await countsOf(key.id)).toEqual({ ...none, valid: 4, uses: 4 });
    // Without a lease asked, a cost-0 verification is still a call (a check of the key that spends nothing).
    expect(await verify({ key: key.secret, cost: 0 })).toBe('VALID');
    expect(await countsOf(key.id)).toEqual({ ...none, valid: 5, uses: 5 });
    // A key with credits is never leased: asking a lease of it at cost 0 is a call like any other.
    const metered = await newKey('pro', { credits: { remaining: 3, refill: null } });
    for (let i = 0; i < 2; i++) expect(await verify({ key: metered.secret, cost: 0, lease: 1 })).toBe('VALID');
    expect(await countsOf(metered.id)).toEqual({ ...none, valid: 2, uses: 2 });
  });

  it('cost 0 reads the budget as it stands: the remaining shown is what is left, and no lease past it', async () => {
    const key = await newKey('tight');
    const answer = async (body: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/keys/verify`, {
        method: 'POST',
        headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
        body: JSON.stringify({ key: key.secret, ...body }),
      });
      return (await res.json()) as { code: string; ratelimit: { remaining: number }; lease?: unknown };
    };
    expect(await answer({})).toMatchObject({ code: 'VALID', ratelimit: { remaining: 1 } });
    expect(await answer({ cost: 0 })).toMatchObject({ code: 'VALID', ratelimit: { remaining: 1 } });
    const renewal = await answer({ cost: 0, lease: 10 });
    expect(renewal).toMatchObject({ code: 'VALID', ratelimit: { remaining: 1 } });
    expect(renewal.lease).toBeUndefined();
    expect(await answer({})).toMatchObject({ code: 'VALID', ratelimit: { remaining: 0 } });
    expect(await answer({ cost: 0 })).toMatchObject({ ratelimit: { remaining: 0 } });
    expect(await answer({})).toMatchObject({ code: 'RATE_LIMITED' });
  });
});
