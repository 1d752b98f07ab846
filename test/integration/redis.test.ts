import { manualClock } from '../../src/clock.js';
import { randomBytes, randomUUID } from 'node:crypto';
import bcrypt from 'bcrypt';
import { Redis } from 'ioredis';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

/**
 * Issue 18: with REDIS_URL, hot state (failure throttles, shared
 * verifications) is shared through Redis by every process; budgets, replay
 * detection and revocation stay exact. Issue 23: budgets and used assertion
 * ids are always in the database, the record. `.ci/run` starts Redis and sets
 * TEST_REDIS_URL; without it only the database path runs here.
 */
const REDIS = process.env.TEST_REDIS_URL;
const TARGETS = REDIS ? DATABASES : [];

const settings = (prefix: string) => ({
  redis_url: REDIS,
  redis_key_prefix: prefix,
  plans: {
    pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
    tight: { api_access: true, max_keys: 100, rate_limits: [10, 1000, 10_000] },
  },
  auth_failures: { per_client: 3, per_address: 50, window_seconds: 300 },
});

describe('without REDIS_URL, hot state stays in the database', () => {
  it('a token request counts the plan budget in plan_counters', async () => {
    const { url } = await DATABASES[0]!.create();
    const server = await startServer(url, {}, { clock: pinnedClock });
    try {
      const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
      const key = await server.keyport.clientService.createServiceAccount({ teamId });
      expect(
        (
          await postForm(
            `${server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(key.client.client_id, key.clientSecret!) },
          )
        ).status,
      ).toBe(200);
      expect(
        await server.keyport.db('plan_counters').where({ client_id: key.client.client_id }).count({ n: '*' }),
      ).toEqual([{ n: 1 }]);
    } finally {
      await server.close();
    }
  });
});

describe.each(TARGETS)('with Redis, on $name', (database) => {
  const prefix = `keyport-test-${randomBytes(4).toString('hex')}:`;
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let redis: Redis;
  let teamId: number;
  let rs: { id: string; secret: string };

  const verify = (base: string, key: string) =>
    fetch(`${base}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    }).then(async (r) => (await r.json()) as { code: string });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    a = await startServer(created.url, settings(prefix), { clock: pinnedClock });
    b = await startServer(created.url, { ...settings(prefix), keys_dir: a.config.keysDir }, { clock: pinnedClock });
    redis = new Redis(REDIS!);
    teamId = (await a.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await a.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis?.quit();
    await drop?.();
  });

  it('issue 23: plan counters live in the database, the record, with Redis too', async () => {
    const key = await a.keyport.clientService.createServiceAccount({ teamId });
    expect(
      (
        await postForm(
          `${a.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.client.client_id, key.clientSecret!) },
        )
      ).status,
    ).toBe(200);
    expect(await a.keyport.db('plan_counters').where({ client_id: key.client.client_id }).count({ n: '*' })).toEqual([
      { n: 1 },
    ]);
    expect(await redis.keys(`${prefix}pc:*`)).toEqual([]);
  });

  it('a budget is exact across two processes', async () => {
    const tight = (await a.keyport.teamService.createTeam({ name: 'Tight', plan: 'tight' })).id;
    const key = await a.keyport.clientService.createServiceAccount({ teamId: tight });
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => verify(i % 2 ? b.url : a.url, key.clientSecret!)),
    );
    expect(answers.filter((x) => x.code === 'VALID')).toHaveLength(10);
    expect(answers.filter((x) => x.code === 'RATE_LIMITED')).toHaveLength(6);
  });

  it('an assertion is single-use across two processes', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const created = await a.keyport.clientService.createServiceAccount({
      teamId,
      publicKeyPem: await exportSPKI(publicKey),
    });
    const id = created.client.client_id;
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(a.url)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(privateKey);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postForm(`${i % 2 ? b.url : a.url}/token`, form)),
    );
    expect(answers.map((x) => x.status).sort()).toEqual([200, ...Array(9).fill(401)]);
  });

  it('wrong secrets counted by one process throttle the source at the other', async () => {
    const key = await a.keyport.clientService.createServiceAccount({ teamId });
    for (let i = 0; i < 3; i++)
      await postForm(
        `${a.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(key.client.client_id, `wrong-${i}`) },
      );
    const refused = await postForm(
      `${b.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(key.client.client_id, key.clientSecret!) },
    );
    expect(refused.status).toBe(429);
  });

  it('a secret chosen by hand costs one bcrypt check for all processes together; a wrong one is never shared', async () => {
    const key = await a.keyport.clientService.createServiceAccount({ teamId });
    const id = key.client.client_id;
    // As the runbook does it: a chosen secret, its bcrypt hash pasted into the row (no digest).
    const chosen = 'chosen-by-hand-Secret-42';
    await a.keyport
      .db('o_auth_clients')
      .where({ client_id: id })
      .update({ client_secret_hash: await bcrypt.hash(chosen, 10), key_digest: null, key_digest_binding: null });
    const token = (base: string, secret: string) =>
      postForm(`${base}/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
    const [beforeA, beforeB] = [a.keyport.limits.bcrypt.started, b.keyport.limits.bcrypt.started];
    expect((await token(a.url, chosen)).status).toBe(200);
    expect(a.keyport.limits.bcrypt.started - beforeA).toBe(1);
    expect((await token(b.url, chosen)).status).toBe(200);
    expect(b.keyport.limits.bcrypt.started - beforeB).toBe(0);
    // Nothing about a wrong secret is shared: each process checks it.
    expect((await token(a.url, 'wrong-guess')).status).toBe(401);
    expect((await token(b.url, 'wrong-guess')).status).toBe(401);
    expect(b.keyport.limits.bcrypt.started - beforeB).toBe(1);
    // What Redis holds cannot be tested against guesses: keyed HMACs, no secret, no hash.
    const stored = await redis.keys(`${prefix}vs:*`);
    expect(stored.length).toBeGreaterThan(0);
    for (const k of stored) expect(k).not.toContain(chosen);
  });

  it('a revocation through one process is felt at once by the other', async () => {
    const key = await a.keyport.clientService.createServiceAccount({ teamId });
    expect((await verify(b.url, key.clientSecret!)).code).toBe('VALID');
    await a.keyport.clientService.revoke(key.client.client_id);
    expect((await verify(b.url, key.clientSecret!)).code).toBe('REVOKED');
  });
});
