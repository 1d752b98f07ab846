import { manualClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * /keys/verify counts against the calling resource server's own rate limit
 * (`resource_server_rate_limits`, docs/contract.md "Rate limits"): over it,
 * 429 with Retry-After and the contract's body (issue 23 item 15).
 */
describe.each(DATABASES)("a resource server's own rate limit at /keys/verify on $name", (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let key: string;
  // The minute window never rolls over between a test's calls (a fixed window ending mid-test let a 4th call through).
  const clock = manualClock();

  const verify = (rs: { id: string; secret: string }) =>
    fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
  const newResourceServer = async (name: string) => {
    const created = await server.keyport.clientService.createResourceServer({ name });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(
      created.url,
      {
        plans: { pro: { api_access: true, max_keys: 10, rate_limits: [1000, 10000, 100000] } },
        resource_server_rate_limits: [3, 1000, 10000],
      },
      { clock },
    );
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    key = (await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] })).clientSecret!;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('past its per-minute limit a resource server gets 429, Retry-After and the contract body; another does not', async () => {
    const busy = await newResourceServer('busy api');
    for (let i = 0; i < 3; i++) expect((await verify(busy)).status).toBe(200);
    const over = await verify(busy);
    expect(over.status).toBe(429);
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await over.json()).toEqual({ error: 'rate_limit_exceeded', retry_after: retryAfter });
    const calm = await verify(await newResourceServer('calm api'));
    expect(calm.status).toBe(200);
    expect(await calm.json()).toMatchObject({ valid: true, code: 'VALID' });
  });
});
