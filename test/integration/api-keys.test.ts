import { manualClock } from '../../src/clock.js';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { hasValidChecksum } from '../../src/clients/secrets.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

const OPERATOR = 'v'.repeat(40);
const settings = {
  admin_token: OPERATOR,
  key_prefix: 'bugbrain',
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    tight: { api_access: true, max_keys: 100, rate_limits: [10, 1000, 10_000] },
    starter: { api_access: false, max_keys: 10 },
  },
};

/** Issue 15: API keys used directly, verified by resource servers. */
describe.each(DATABASES)('API keys used directly, on $name', (database) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };

  const verify = async (body: Record<string, unknown>, base = server.url, auth = basic(rs.id, rs.secret)) => {
    const res = await fetch(`${base}/keys/verify`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  const newKey = async (input: Record<string, unknown> = {}, team = teamId) => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: team,
      scopes: ['api:read'],
      ...input,
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings, { clock: pinnedClock });
    second = await startServer(created.url, { ...settings, keys_dir: server.config.keysDir }, { clock: pinnedClock });
    teamId = (await server.keyport.teamService.createTeam({ name: 'BugBrain customer', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
    await drop?.();
  });

  it('1. new keys name themselves: <prefix>_sk_<env>_<base58><checksum>; a mistyped key is NOT_FOUND', async () => {
    const key = await newKey();
    expect(key.secret).toMatch(/^bugbrain_sk_prod_[1-9A-HJ-NP-Za-km-z]{30}$/);
    expect(hasValidChecksum(key.secret)).toBe(true);
    const typo = key.secret.slice(0, 20) + (key.secret[20] === 'a' ? 'b' : 'a') + key.secret.slice(21);
    expect(hasValidChecksum(typo)).toBe(false);
    expect((await verify({ key: typo })).body).toEqual({ valid: false, code: 'NOT_FOUND' });
    const dev = await newKey({ environment: 'dev' });
    expect(dev.secret).toMatch(/^bugbrain_sk_dev_/);
  });

  it('2. the same secret works at /token and directly; an app secret is no API key', async () => {
    const key = await newKey();
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, key.secret) },
        )
      ).status,
    ).toBe(200);
    const res = await verify({ key: key.secret });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      valid: true,
      code: 'VALID',
      client_id: key.id,
      team_id: teamId,
      environment: 'prod',
      scopes: ['api:read'],
      credits: null,
    });
    expect(res.body.ratelimit).toMatchObject({ limit: 1000, remaining: expect.any(Number), reset: expect.any(Number) });
    expect(res.headers.get('x-ratelimit-limit')).toBe('1000');
    const app = await server.keyport.clientService.createApp({ teamId, name: 'not a key' });
    expect((await verify({ key: app.clientSecret! })).body).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('2. a key made before digests (only its bcrypt hash stored) works directly after its next use at /token', async () => {
    const key = await newKey();
    const old = `keyport_sk_prod_${'A'.repeat(32)}`;
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: key.id })
      .update({ client_secret_hash: await bcrypt.hash(old, 10), key_digest: null });
    expect((await verify({ key: old })).body.code).toBe('NOT_FOUND');
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, old) },
        )
      ).status,
    ).toBe(200);
    expect((await verify({ key: old })).body).toMatchObject({ valid: true, client_id: key.id });
  });

  it('2. two keys may share a chosen secret, and copies of a row may share a generated one: no 500, no ambiguity', async () => {
    const a = await newKey({ clientSecret: 'Same-Secret-42' });
    const b = await newKey({ clientSecret: 'Same-Secret-42' });
    for (const key of [a, b])
      expect(
        (
          await postForm(
            `${server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(key.id, key.secret) },
          )
        ).status,
      ).toBe(200);
    // A chosen secret is no API key: too weak for a bearer key, and it may not name one client.
    expect((await verify({ key: 'Same-Secret-42' })).body.code).toBe('NOT_FOUND');

    const original = await newKey();
    const row = await server.keyport.db('o_auth_clients').where({ client_id: original.id }).first();
    await server.keyport.db('o_auth_clients').insert({ ...row, client_id: `${original.id}-copy`, key_digest: null });
    const copy = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(`${original.id}-copy`, original.secret) },
    );
    expect(copy.status).toBe(200);
    expect((await verify({ key: original.secret })).body).toMatchObject({ code: 'VALID', client_id: original.id });
  });

  it('2. a hash pasted by hand (the runbook) ends the old key everywhere, and the new secret becomes an API key at its first use', async () => {
    const key = await newKey();
    expect((await verify({ key: key.secret })).body.code).toBe('VALID');
    const replacement = `keyport_sk_prod_${'B'.repeat(32)}`;
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: key.id })
      .update({ client_secret_hash: await bcrypt.hash(replacement, 10) });
    expect((await verify({ key: key.secret })).body.code).toBe('NOT_FOUND');
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, key.secret) },
        )
      ).status,
    ).toBe(401);
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, replacement) },
        )
      ).status,
    ).toBe(200);
    expect((await verify({ key: replacement })).body).toMatchObject({ code: 'VALID', client_id: key.id });
  });

  it('a generated key is checked by its digest at /token: a cold process runs no bcrypt for it', async () => {
    const key = await newKey();
    const before = second.keyport.limits.bcrypt.started;
    expect(
      (
        await postForm(
          `${second.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, key.secret) },
        )
      ).status,
    ).toBe(200);
    expect(second.keyport.limits.bcrypt.started).toBe(before);
    expect(
      (
        await postForm(
          `${second.url}/token`,
          { grant_type: 'client_credentials' },
          // Another last character: a fixed one would be the secret's own one time in 58.
          { authorization: basic(key.id, `${key.secret.slice(0, -1)}${key.secret.endsWith('x') ? 'y' : 'x'}`) },
        )
      ).status,
    ).toBe(401);
  });

  it('3. every code of the closed set', async () => {
    const revoked = await newKey();
    await server.keyport.clientService.revoke(revoked.id);
    expect((await verify({ key: revoked.secret })).body).toMatchObject({
      valid: false,
      code: 'REVOKED',
      client_id: revoked.id,
    });

    const expired = await newKey({ expiresInDays: 1 });
    await server.keyport.db('o_auth_clients').where({ client_id: expired.id }).update({ expires_at: 1 });
    expect((await verify({ key: expired.secret })).body).toMatchObject({ valid: false, code: 'EXPIRED' });

    const scoped = await newKey();
    expect((await verify({ key: scoped.secret, scopes: ['api:write'] })).body).toMatchObject({
      valid: false,
      code: 'INSUFFICIENT_SCOPE',
      scopes: ['api:read'],
    });
    expect((await verify({ key: scoped.secret, scopes: ['api:read'] })).body.code).toBe('VALID');

    const starterTeam = (await server.keyport.teamService.createTeam({ name: 'was pro', plan: 'pro' })).id;
    const downgraded = await newKey({}, starterTeam);
    await server.keyport.db('teams').where({ id: starterTeam }).update({ plan: 'starter' });
    expect((await verify({ key: downgraded.secret })).body).toMatchObject({ valid: false, code: 'NO_API_ACCESS' });

    const limited = await newKey({ credits: { remaining: 2, refill: null } });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await verify({ key: limited.secret })).body);
    expect(codes.map((c) => c.code)).toEqual(['VALID', 'VALID', 'USAGE_EXCEEDED']);
    expect(codes.map((c) => c.credits)).toEqual([{ remaining: 1 }, { remaining: 0 }, { remaining: 0 }]);

    // An OAuth access token verifies too, with the scopes its client holds now.
    const tokenOf = await newKey();
    const token = (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(tokenOf.id, tokenOf.secret) },
      )
    ).body.access_token as string;
    expect((await verify({ key: token })).body).toMatchObject({
      valid: true,
      code: 'VALID',
      client_id: tokenOf.id,
      scopes: ['api:read'],
    });
    expect((await verify({ key: 'no-such-key-or-token' })).body).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('3. RATE_LIMITED past the plan budget; the budget is shared exactly by two keyport processes, and cost counts', async () => {
    const tight = (await server.keyport.teamService.createTeam({ name: 'Tight', plan: 'tight' })).id;
    const key = await newKey({}, tight);
    expect((await verify({ key: key.secret, cost: 4 })).body.ratelimit.remaining).toBe(6);
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => verify({ key: key.secret }, i % 2 ? second.url : server.url)),
    );
    const valid = answers.filter((a) => a.body.code === 'VALID').length;
    // Exactly the budget: never more, and never one refused early.
    expect(valid).toBe(6);
    const refused = answers.find((a) => a.body.code === 'RATE_LIMITED')!;
    expect(refused.body).toMatchObject({
      valid: false,
      ratelimit: { limit: 10, remaining: 0 },
      retry_after: expect.any(Number),
    });
  });

  it('4. credits refill on schedule, with no job: a new day brings the refill amount', async () => {
    const key = await newKey({ credits: { remaining: 1, refill: { interval: 'day', amount: 3 } } });
    expect((await verify({ key: key.secret })).body.credits).toEqual({ remaining: 0 });
    expect((await verify({ key: key.secret })).body.code).toBe('USAGE_EXCEEDED');
    // As if the last refill were yesterday's.
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: key.id })
      .update({ credits_period: Math.floor(Date.now() / 1000) - 2 * 86_400 });
    expect((await verify({ key: key.secret })).body).toMatchObject({ code: 'VALID', credits: { remaining: 2 } });
    // PATCH sets them; null removes them.
    const patched = await fetch(`${server.url}/api/teams/${teamId}/clients/${key.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ credits: null }),
    });
    expect(patched.status).toBe(200);
    expect((await verify({ key: key.secret })).body).toMatchObject({ code: 'VALID', credits: null });
  });

  it('3. RFC 7662 introspection accepts a raw key: token_type api_key', async () => {
    const key = await newKey();
    const res = await postForm(
      `${server.url}/token/introspection`,
      { token: key.secret },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(res.body).toMatchObject({
      active: true,
      token_type: 'api_key',
      client_id: key.id,
      team_id: teamId,
      scope: 'api:read',
    });
    await server.keyport.clientService.revoke(key.id);
    expect(
      (
        await postForm(
          `${server.url}/token/introspection`,
          { token: key.secret },
          { authorization: basic(rs.id, rs.secret) },
        )
      ).body,
    ).toEqual({ active: false });
  });

  it('5. usage per hour by outcome and the last source addresses, written in batches', async () => {
    const key = await newKey({ credits: { remaining: 2, refill: null } });
    for (const ip of ['203.0.113.7', '203.0.113.7', '198.51.100.1']) await verify({ key: key.secret, ip });
    await verify({ key: key.secret, ip: '198.51.100.1', scopes: ['api:write'] });
    await server.keyport.keyUsage.flush();
    const res = await fetch(`${server.url}/api/teams/${teamId}/clients/${key.id}/usage?granularity=hour`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(res.status).toBe(200);
    const usage = (await res.json()) as {
      data: Array<Record<string, number | string>>;
      addresses: Array<Record<string, unknown>>;
    };
    expect(usage.data).toHaveLength(1);
    expect(usage.data[0]).toMatchObject({ valid: 2, usage_exceeded: 1, insufficient_scope: 1, rate_limited: 0 });
    expect(usage.addresses.map((a) => [a.address, a.count]).sort()).toEqual([
      ['198.51.100.1', 2],
      ['203.0.113.7', 2],
    ]);
  });

  it('7. bad input is a 4xx that names the problem; a caller that is not a resource server is 401', async () => {
    const key = await newKey();
    expect((await verify({ key: 'k'.repeat(10_000) })).status).toBe(400);
    expect((await verify({ key: `${key.secret}\u0000` })).status).toBe(400);
    expect((await verify({})).body).toMatchObject({ error: 'invalid_request' });
    expect((await verify({ key: key.secret, cost: -1 })).status).toBe(400);
    expect((await verify({ key: key.secret }, server.url, basic(rs.id, 'wrong'))).status).toBe(401);
    expect((await verify({ key: key.secret }, server.url, basic(key.id, key.secret))).status).toBe(401);
    const raw = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(raw.status).toBeGreaterThanOrEqual(400);
    expect(raw.status).toBeLessThan(500);
  });
});
