import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 23 item 14: per-address throttles count an IPv6 source by its
 * network (`ipv6_throttle_prefix`, a /64 by default): one host holds a whole
 * /64, so counting each address alone counts nothing. An IPv4-mapped IPv6
 * address is its IPv4 address. Addresses come from X-Forwarded-For behind
 * one trusted proxy, as a load balancer sends them.
 */
describe.each(DATABASES)('IPv6 sources are counted as networks on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let key: { id: string; secret: string };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      trusted_proxies: 1,
      auth_failures: { per_client: 5, per_address: 12, window_seconds: 300 },
    });
    const seeded = await seedServiceAccount(server.keyport);
    key = { id: seeded.clientId, secret: seeded.clientSecret };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  const token = (from: string, id: string, secret: string) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(id, secret), 'x-forwarded-for': from },
    );

  it('RFC 6749 §5.2: wrong secrets from many addresses of one /64 answer 429 for that /64, not for the next', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 7; i++)
      statuses.push((await token(`2001:db8:1:2::${i.toString(16)}`, key.id, `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // Another address of the same /64, with the right secret: still that source.
    expect((await token('2001:db8:1:2:ffff:ffff:ffff:ffff', key.id, key.secret)).status).toBe(429);
    // The next /64 is another source.
    expect((await token('2001:db8:1:3::1', key.id, key.secret)).status).toBe(200);
  });

  it('unknown client_ids from many addresses of one /64 are refused past the per-address limit', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 14; i++)
      statuses.push((await token(`2001:db8:9:9::${i.toString(16)}:1`, `nobody-${i}`, 'x')).status);
    expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(12)).toEqual([429, 429]);
  });

  it('an IPv4-mapped IPv6 address is counted as its IPv4 address', async () => {
    for (let i = 0; i < 5; i++) expect((await token('::ffff:203.0.113.5', key.id, `wrong-${i}`)).status).toBe(401);
    expect((await token('203.0.113.5', key.id, key.secret)).status).toBe(429);
    expect((await token('203.0.113.6', key.id, key.secret)).status).toBe(200);
  });
});
