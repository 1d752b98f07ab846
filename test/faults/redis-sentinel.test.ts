import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { within } from '../helpers/redis-server.js';
import { startRedisSentinels, type RedisSentinels } from '../helpers/redis-sentinel.js';
import { basic, postForm, startServer } from '../helpers/server.js';
import { eventually, jwtServiceAccount, metrics, token, verify, type RedisFixture } from './redis-fixture.js';

/**
 * Issue 25, item 3: with REDIS_URL naming Redis Sentinels, keyport follows a
 * failover. The test's own primary, replica and three sentinels; the primary
 * is killed under load. Every call has a client timeout of 5 s (a hang fails
 * the test); the database stays the record of budgets and used assertions.
 */
describe.each(DATABASES)('with Redis Sentinel, keyport on $name', (database) => {
  let set: RedisSentinels;
  let f: RedisFixture;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    set = await startRedisSentinels();
    const created = await database.create();
    drop = created.drop;
    const server = await startServer(created.url, {
      redis_url: set.url,
      admin_token: randomBytes(24).toString('hex'),
      // The load replays assertions on purpose (two failures a round): above the failure throttle's
      // default, so its 429s do not hide the single-use rule (the outage tests pin the throttle).
      auth_failures: { per_client: 100_000, per_address: 100_000, window_seconds: 300 },
      plans: {
        pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 100_000, 100_000] },
        daily30: { api_access: true, max_keys: 100, rate_limits: [30, 30, 30] },
      },
    });
    const { teamService, clientService } = server.keyport;
    const teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const key = await clientService.createServiceAccount({ teamId, name: 'ci', scopes: ['api:read'] });
    const rs = await clientService.createResourceServer({ name: 'api' });
    f = {
      redis: set.primary,
      server,
      teamId,
      key: { id: key.client.client_id, secret: key.clientSecret! },
      rs: { id: rs.client.client_id, secret: rs.clientSecret! },
      close: async () => undefined,
    };
  }, 60_000);
  afterAll(async () => {
    if (f) await within(f.server.close(), 10_000, 'keyport closing');
    await set?.close();
    await drop?.();
  });

  it('follows a failover under load: no hang, no 500, no budget exceeded, no assertion accepted twice', async () => {
    await eventually(async () => /^keyport_redis_up 1$/m.test(await metrics(f)));
    expect(await set.masterPort()).toBe(set.primary.port);

    const daily = await f.server.keyport.teamService.createTeam({ name: 'Daily', plan: 'daily30' });
    const budgeted = (await f.server.keyport.clientService.createServiceAccount({ teamId: daily.id })).clientSecret!;
    const account = await jwtServiceAccount(f);
    const used = await account.assertion();
    expect((await account.present(used)).status).toBe(200);

    const outcomes: string[] = [];
    const budgetCodes: string[] = [];
    const failures: string[] = [];
    let running = true;
    // Each round: a token, a verification, a budgeted verification, a fresh assertion presented twice at once, a replay.
    const round = async () => {
      const issued = await token(f);
      outcomes.push(`token ${issued.status}`);
      const verified = await verify(f, f.key.secret);
      outcomes.push(`verify ${verified.status} ${verified.body.code}`);
      const spent = await verify(f, budgeted);
      budgetCodes.push(`${spent.status} ${spent.body.code}`);
      const signed = await account.assertion();
      const twice = await Promise.all([account.present(signed), account.present(signed)]);
      outcomes.push(`assertion ${twice.map((r) => r.status).sort()}`);
      const replayed = await account.present(used);
      outcomes.push(`replay ${replayed.status} ${replayed.body.error}`);
    };
    const load = Promise.all(
      [0, 1, 2].map(async () => {
        while (running) await round().catch((err: Error) => failures.push(err.message));
      }),
    );

    try {
      // Half the budget spent before the kill, and more than all of it after.
      await eventually(async () => budgetCodes.length >= 15);
      await set.primary.kill();
      const killedAt = budgetCodes.length;
      // The sentinels promote the replica, and keyport's Redis answers again, through the new primary.
      await eventually(async () => (await set.masterPort()) === set.replica.port, 30_000);
      await eventually(async () => /^keyport_redis_up 1$/m.test(await metrics(f)), 30_000);
      await eventually(async () => budgetCodes.length >= killedAt + 30, 30_000);
    } finally {
      running = false;
      await load;
    }

    expect(failures).toEqual([]);
    expect(new Set(outcomes)).toEqual(
      new Set(['token 200', 'verify 200 VALID', 'assertion 200,401', 'replay 401 invalid_client']),
    );
    // The budget of 30 a day: exactly 30 verifications pass, the rest are refused, none answers 500.
    expect(budgetCodes.filter((c) => c === '200 VALID')).toHaveLength(30);
    expect(new Set(budgetCodes.filter((c) => c !== '200 VALID'))).toEqual(new Set(['200 RATE_LIMITED']));

    // keyport writes to the new primary: a wrong secret's throttle count lands there.
    const promoted = set.connect(set.replica.port);
    try {
      expect(await promoted.info('replication')).toMatch(/role:master/);
      const before = new Set(await promoted.keys('keyport:fc:*'));
      const stranger = await f.server.keyport.clientService.createServiceAccount({ teamId: f.teamId });
      const wrong = await within(
        postForm(
          `${f.server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(stranger.client.client_id, 'wrong-secret') },
        ),
      );
      expect(wrong.status).toBe(401);
      await eventually(async () => (await promoted.keys('keyport:fc:*')).some((k) => !before.has(k)));
    } finally {
      promoted.disconnect();
    }
  }, 120_000);
});
