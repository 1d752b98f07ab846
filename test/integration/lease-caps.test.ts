import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/** Issue 23 item 13: a lease never outlives the key's expiry or the end of a rotation's grace period. */
describe.each(DATABASES)('lease caps on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };

  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key, lease: 100 }),
    });
    return (await res.json()) as { code: string; lease?: { calls: number; ttl_ms: number } };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 100 } } });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const made = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: made.client.client_id, secret: made.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('the old secret during a 2-second grace period gets a lease that ends with the grace', async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    const old = created.clientSecret!;
    const rotated = await server.keyport.clientService.regenerateSecret(created.client.client_id, {
      gracePeriodSeconds: 2,
    });
    const graceEndsMs =
      Number(
        (await server.keyport.db('o_auth_clients').where({ client_id: created.client.client_id }).first())
          .previous_secret_expires_at,
      ) * 1000;
    const before = Date.now();
    const leased = await verify(old);
    expect(leased.code).toBe('VALID');
    expect(leased.lease).toBeDefined();
    expect(before + leased.lease!.ttl_ms).toBeLessThanOrEqual(graceEndsMs);
    const fresh = await verify(rotated.clientSecret!);
    expect(fresh).toMatchObject({ code: 'VALID', lease: { ttl_ms: expect.any(Number) } });
  });

  it('a key that expires in 2 seconds gets a lease that ends by then', async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: created.client.client_id })
      .update({ expires_at: expiresAt });
    const before = Date.now();
    const leased = await verify(created.clientSecret!);
    expect(leased.code).toBe('VALID');
    expect(leased.lease).toBeDefined();
    expect(before + leased.lease!.ttl_ms).toBeLessThanOrEqual(expiresAt * 1000);
  });
});
