import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';

/**
 * Who may call POST /keys/verify: a resource server, valid now, with its current
 * secret (or the old one during a grace period).
 */
describe.each(DATABASES)('callers of /keys/verify on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let key: string;

  const verify = async (caller: { id: string; secret: string }) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(caller.id, caller.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const newResourceServer = async (name: string) => {
    const created = await server.keyport.clientService.createResourceServer({ name });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const rotate = async (rs: { id: string }, gracePeriodSeconds: number) =>
    (await server.keyport.clientService.regenerateSecret(rs.id, { gracePeriodSeconds })).clientSecret!;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 100 } } });
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    key = (await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] })).clientSecret!;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a revoked resource server can no longer call /keys/verify (401 invalid_client)', async () => {
    const rs = await newResourceServer('revoked api');
    expect((await verify(rs)).body).toMatchObject({ valid: true, code: 'VALID' });
    await server.keyport.clientService.revoke(rs.id);
    const res = await verify(rs);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client' });
    expect(res.body).not.toHaveProperty('valid');
  });

  it("a resource server's old secret stops working at /keys/verify at once after rotation without grace", async () => {
    const rs = await newResourceServer('rotated api');
    expect((await verify(rs)).status).toBe(200);
    const secret = await rotate(rs, 0);
    const old = await verify(rs);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: 'invalid_client' });
    expect((await verify({ id: rs.id, secret })).body).toMatchObject({ code: 'VALID' });
  });

  it("a resource server's old secret works during the grace period and is refused once it ends (401)", async () => {
    const rs = await newResourceServer('graceful api');
    expect((await verify(rs)).status).toBe(200);
    const secret = await rotate(rs, 3600);
    expect((await verify(rs)).body).toMatchObject({ code: 'VALID' });
    expect((await verify({ id: rs.id, secret })).body).toMatchObject({ code: 'VALID' });
    // The grace period ends (moved into the past rather than waited for).
    await server.keyport.db('o_auth_clients').where({ client_id: rs.id }).update({ previous_secret_expires_at: 1 });
    const old = await verify(rs);
    expect(old.status).toBe(401);
    expect(old.body).toMatchObject({ error: 'invalid_client' });
    expect((await verify({ id: rs.id, secret })).body).toMatchObject({ code: 'VALID' });
  });

  it('an expired resource server can no longer call /keys/verify (401)', async () => {
    const rs = await newResourceServer('expired api');
    expect((await verify(rs)).status).toBe(200);
    await server.keyport.db('o_auth_clients').where({ client_id: rs.id }).update({ expires_at: 1 });
    expect((await verify(rs)).status).toBe(401);
  });
});
