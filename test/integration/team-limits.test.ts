import { manualClock } from '../../src/clock.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const REDIS = process.env.TEST_REDIS_URL;
const TARGETS = DATABASES.flatMap((database) => [
  { database, redis: undefined as string | undefined },
  ...(REDIS ? [{ database, redis: REDIS }] : []),
]);

const settings = (redis: string | undefined) => ({
  admin_token: 'x'.repeat(40),
  redis_url: redis,
  redis_key_prefix: `keyport-test-${randomBytes(4).toString('hex')}:`,
  plans: {
    shared: { api_access: true, max_keys: 50, rate_limits: [3, 100, 1000], limit_per: 'team' },
    each: { api_access: true, max_keys: 50, rate_limits: [3, 100, 1000] },
  },
});

/** issue 28 item 5: a plan whose budget is its team's, shared by the team's keys (docs/CONTRACT.md, Rate limits). */
describe.each(TARGETS)('limits shared by a team on $database.name, Redis: $redis', ({ database, redis }) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  // The minute window never rolls over between a test's calls (a fixed window ending mid-test let a 4th call through).
  const clock = manualClock();

  const newKey = async (teamId: number, environment = 'prod') => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      environment,
      scopes: ['api:read'],
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const newTeam = async (plan: string) => (await server.keyport.teamService.createTeam({ name: plan, plan })).id;
  const token = (key: { id: string; secret: string }, base = server.url) =>
    postForm(
      `${base}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(key.id, key.secret) },
    );
  const verify = async (key: { secret: string }) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key: key.secret }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings(redis), { clock });
    second = await startServer(
      created.url,
      {
        ...settings(redis),
        redis_key_prefix: server.config.redisKeyPrefix,
        keys_dir: server.config.keysDir,
      },
      { clock },
    );
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  beforeEach(async () => {
    await server.keyport.db('plan_counters').delete();
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
    await drop?.();
  });

  it('a team plan: the 4th token across two keys of one team is 429; another team is untouched', async () => {
    const team = await newTeam('shared');
    const [a, b] = [await newKey(team), await newKey(team)];
    const other = await newKey(await newTeam('shared'));
    const answers = [await token(a), await token(b), await token(a)];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0']);
    const refused = await token(b);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(Number(refused.headers.get('retry-after'))).toBe(refused.body.retry_after);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('3');
    expect((await token(other)).status).toBe(200);
    expect(
      await server.keyport
        .db('plan_counters')
        .where({ client_id: `team:${team}` })
        .first(),
    ).toMatchObject({
      n0: 4,
    });
  });

  it('a team plan: /keys/verify and /token spend the same team window', async () => {
    const team = await newTeam('shared');
    const [a, b] = [await newKey(team), await newKey(team)];
    expect((await token(a)).status).toBe(200);
    const v1 = await verify(b);
    expect(v1.body.code).toBe('VALID');
    expect(v1.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await verify(a)).body.code).toBe('VALID');
    expect((await verify(b)).body.code).toBe('RATE_LIMITED');
    expect((await token(a)).status).toBe(429);
  });

  it('a team plan: its dev keys share the dev budget (a tenth), counted apart from its prod keys', async () => {
    const team = await newTeam('shared');
    const [prod, devA, devB] = [await newKey(team), await newKey(team, 'dev'), await newKey(team, 'dev')];
    const first = await token(devA);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('1');
    expect((await token(devB)).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await token(prod)).status).toBe(200);
    expect((await token(prod)).status).toBe(429);
  });

  it('the default plan: each key has its own 3', async () => {
    const team = await newTeam('each');
    const [a, b] = [await newKey(team), await newKey(team)];
    for (const key of [a, b]) {
      for (let i = 0; i < 3; i++) expect((await token(key)).status).toBe(200);
      expect((await token(key)).status).toBe(429);
    }
  });

  it('two processes sharing one database stop at exactly the team limit', async () => {
    const team = await newTeam('shared');
    const [a, b] = [await newKey(team), await newKey(team)];
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => token(i % 2 ? a : b, i % 4 < 2 ? server.url : second.url)),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(7);
  });
});
