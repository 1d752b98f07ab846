import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 23 item 8: anonymous requests cost nothing durable on /keys/verify
 * and /keys/events either. Made-up client_ids are failures of their source
 * address, throttled as at /token, and no counter row is keyed by them.
 */
const PER_ADDRESS = 20;

describe.each(DATABASES)('/keys/verify and /keys/events with made-up client_ids on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      trusted_proxies: 1,
      auth_failures: { per_client: 5, per_address: PER_ADDRESS, window_seconds: 300 },
    });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  const rows = async () => Number((await server.keyport.db('rate_limits').count({ n: '*' }))[0]!.n);
  const madeUp = () => `made-up-${randomBytes(8).toString('hex')}`;

  for (const [route, call] of [
    [
      'POST /keys/verify',
      (address: string) =>
        fetch(`${server.url}/keys/verify`, {
          method: 'POST',
          headers: {
            authorization: basic(madeUp(), 'x'),
            'content-type': 'application/json',
            'x-forwarded-for': address,
          },
          body: JSON.stringify({ key: 'keyport_sk_prod_nothing' }),
        }),
    ],
    [
      'GET /keys/events',
      (address: string) =>
        fetch(`${server.url}/keys/events`, {
          headers: { authorization: basic(madeUp(), 'x'), 'x-forwarded-for': address },
        }),
    ],
  ] as const) {
    it(`${route}: 300 made-up client_ids from one address are refused (429) past the per-address limit, with no row per id`, async () => {
      const address = route.startsWith('POST') ? '203.0.113.10' : '203.0.113.11';
      const before = await rows();
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        const res = await call(address);
        statuses.push(res.status);
        await res.body?.cancel();
      }
      expect(statuses.slice(0, PER_ADDRESS).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(PER_ADDRESS).every((s) => s === 429)).toBe(true);
      // One counter for the address, none per made-up id.
      expect((await rows()) - before).toBeLessThanOrEqual(1);
      // Another address is not refused.
      expect((await call('198.51.100.40')).status).toBe(401);
    });
  }
});
