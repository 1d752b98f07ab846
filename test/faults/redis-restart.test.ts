import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { eventually, jwtServiceAccount, openFixture, readyz, verify, type RedisFixture } from './redis-fixture.js';

/**
 * Issue 23, item 3: a Redis restart (here: killed and started again empty,
 * as a failover to a cold replica) forgets nothing that matters. The
 * database is the record of budgets and of used assertion ids.
 */
describe.each(DATABASES)('across a Redis restart, keyport on $name', (database) => {
  let f: RedisFixture;
  beforeAll(async () => {
    f = await openFixture(database);
  });
  afterAll(async () => {
    await f?.close();
  });

  const restartRedis = async () => {
    await f.redis.kill();
    await f.redis.start();
    await eventually(async () => (await readyz(f)).status === 200);
  };

  it('a key with a budget of 30 a day still stops at 30', async () => {
    const team = await f.server.keyport.teamService.createTeam({ name: 'Daily', plan: 'daily30' });
    const created = await f.server.keyport.clientService.createServiceAccount({ teamId: team.id });
    const key = created.clientSecret!;
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push((await verify(f, key)).body.code!);
    await restartRedis();
    for (let i = 0; i < 20; i++) codes.push((await verify(f, key)).body.code!);
    expect(codes.filter((c) => c === 'VALID')).toHaveLength(30);
    expect(codes.slice(30)).toEqual(Array(10).fill('RATE_LIMITED'));
  });

  it('RFC 7523 §3: a used private_key_jwt assertion is still refused (invalid_client)', async () => {
    const account = await jwtServiceAccount(f);
    const signed = await account.assertion();
    expect((await account.present(signed)).status).toBe(200);
    await restartRedis();
    const replayed = await account.present(signed);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe('invalid_client');
    // A fresh assertion still works.
    expect((await account.present(await account.assertion())).status).toBe(200);
  });
});
