import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { within } from '../helpers/redis-server.js';
import { basic, postForm } from '../helpers/server.js';
import { eventually, expectNormalAnswers, metrics, openFixture, readyz, type RedisFixture } from './redis-fixture.js';

/**
 * Issue 23, items 1 and 2: Redis is optional, so a Redis that is frozen
 * (SIGSTOP) or down degrades keyport and never hangs or stops it. Every
 * call below has a client timeout of 5 s; an answer that does not come
 * fails the test.
 */
describe.each(DATABASES)('when its Redis fails, keyport on $name', (database) => {
  let f: RedisFixture;
  beforeAll(async () => {
    f = await openFixture(database);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('answers as usual with a healthy Redis', async () => {
    await expectNormalAnswers(f);
  });

  it('a frozen Redis (SIGSTOP): every surface answers within its bound, with its normal answer', async () => {
    f.redis.freeze();
    try {
      await expectNormalAnswers(f);
      // And again, once the breaker has stopped calling it.
      await expectNormalAnswers(f);
    } finally {
      f.redis.thaw();
    }
  });

  it('a Redis that is down: every surface answers, no 500', async () => {
    await f.redis.kill();
    try {
      await expectNormalAnswers(f);
    } finally {
      await f.redis.start();
    }
  });

  it('a Redis that is down switches no throttle off: 20 wrong secrets still refuse the source (429)', async () => {
    const created = await f.server.keyport.clientService.createServiceAccount({ teamId: f.teamId });
    const id = created.client.client_id;
    await f.redis.kill();
    try {
      const attempt = (secret: string) =>
        within(
          postForm(`${f.server.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) }),
          5000,
          '/token',
        );
      for (let i = 0; i < 20; i++) expect((await attempt(`wrong-${i}`)).status).toBe(401);
      const refused = await attempt(created.clientSecret!);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await f.redis.start();
    }
  });

  it('/readyz and /metrics say degraded while Redis is out, and recover by themselves when it returns', async () => {
    await eventually(async () => /^keyport_redis_up 1$/m.test(await metrics(f)));
    expect(await readyz(f)).toEqual({ status: 200, body: { status: 'ready' } });

    await f.redis.kill();
    try {
      await eventually(async () => (await readyz(f)).status === 200 && /^keyport_redis_up 0$/m.test(await metrics(f)));
      expect(await readyz(f)).toEqual({ status: 200, body: { status: 'ready', degraded: ['redis'] } });
    } finally {
      await f.redis.start();
    }
    await eventually(async () => /^keyport_redis_up 1$/m.test(await metrics(f)));
    expect(await readyz(f)).toEqual({ status: 200, body: { status: 'ready' } });

    f.redis.freeze();
    try {
      await eventually(async () => (await readyz(f)).status === 200 && /^keyport_redis_up 0$/m.test(await metrics(f)));
      expect(await readyz(f)).toEqual({ status: 200, body: { status: 'ready', degraded: ['redis'] } });
    } finally {
      f.redis.thaw();
    }
    await eventually(async () => /^keyport_redis_up 1$/m.test(await metrics(f)));
    expect(await readyz(f)).toEqual({ status: 200, body: { status: 'ready' } });
  });
});
