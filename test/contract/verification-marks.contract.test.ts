import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { createSharedVerifications, type VerificationMarks } from '../../src/clients/verified-secrets.js';
import { createRedisVerificationMarks } from '../../src/persistence/redis/verification-marks.js';
import { storeTargets, type OpenStore } from './targets.js';

const clock = manualClock(1_900_000_000_000);
const TARGETS = storeTargets<VerificationMarks>(
  'shared verified secrets',
  { redis: createRedisVerificationMarks },
  clock,
);

describe.each(TARGETS)('verification marks contract on $name', (target) => {
  let open: OpenStore<VerificationMarks>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('answers the first marked key, -1 when none is', async () => {
    expect(await open.store.firstMarked([])).toBe(-1);
    expect(await open.store.firstMarked(['x', 'y'])).toBe(-1);
    await open.store.mark('y', 60_000);
    await open.store.mark('z', 60_000);
    expect(await open.store.firstMarked(['x', 'y', 'z'])).toBe(1);
  });

  it('a mark made by one process is seen by another', async () => {
    await open.store.mark('shared', 60_000);
    expect(await open.another(clock).firstMarked(['shared'])).toBe(0);
  });

  it('a mark lasts its time by the clock, then is gone', async () => {
    await open.store.mark('brief', 10_000);
    clock.advance(9_999);
    expect(await open.store.firstMarked(['brief'])).toBe(0);
    clock.advance(1);
    expect(await open.store.firstMarked(['brief'])).toBe(-1);
  });

  it('shared verifications keep only a keyed HMAC: another cookie key finds nothing', async () => {
    const shared = createSharedVerifications(open.store, () => 'cookie-key-one');
    await shared.remember('c1', '$2b$hash', 'the-secret');
    expect(
      await shared.find('c1', [
        ['$2b$other', 'x'],
        ['$2b$hash', 'the-secret'],
      ]),
    ).toEqual(['$2b$hash', 'the-secret']);
    expect(await shared.find('c1', [['$2b$hash', 'wrong']])).toBeUndefined();
    expect(
      await createSharedVerifications(open.store, () => 'cookie-key-two').find('c1', [['$2b$hash', 'the-secret']]),
    ).toBeUndefined();
  });
});

describe('shared verifications when Redis does not answer', () => {
  let redis: Redis;
  beforeAll(() => {
    // Nothing listens on port 1: every command fails at once.
    redis = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
  });
  afterAll(() => redis.disconnect());

  it('finds nothing and remembers nothing, without an error: bcrypt just runs again', async () => {
    const shared = createSharedVerifications(createRedisVerificationMarks(redis), () => 'cookie-key');
    await expect(shared.remember('c1', 'h', 's')).resolves.toBeUndefined();
    await expect(shared.find('c1', [['h', 's']])).resolves.toBeUndefined();
  });
});
