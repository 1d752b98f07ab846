import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

/**
 * RFC 7009 revocation of a raw API key (issue 23 item 15): a service account
 * that sends its own key to /token/revocation revokes it; any other caller
 * gets the same 200 and nothing changes (RFC 7009 §2.2: reveal nothing).
 */
describe.each(DATABASES)('revoking a raw API key at /token/revocation on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;

  const revoke = (caller: { clientId: string; clientSecret: string }, token: string) =>
    postForm(
      `${server.url}/token/revocation`,
      { token },
      { authorization: basic(caller.clientId, caller.clientSecret) },
    );
  const tokenFor = (account: { clientId: string; clientSecret: string }) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(account.clientId, account.clientSecret),
      },
    );
  const revokedAt = async (clientId: string) => (await server.keyport.clients.findById(clientId))!.revokedAt;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 20 } } });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("the key's own client revokes it: 200, then the key no longer gets tokens and is stored revoked", async () => {
    const account = await seedServiceAccount(server.keyport);
    expect((await tokenFor(account)).status).toBe(200);
    const res = await revoke(account, account.clientSecret);
    expect(res.status).toBe(200);
    expect(await revokedAt(account.clientId)).not.toBeNull();
    const after = await tokenFor(account);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error: 'invalid_client' });
  });

  it("another client, or a resource server, sending someone's key gets the same 200 and changes nothing", async () => {
    const victim = await seedServiceAccount(server.keyport);
    const other = await seedServiceAccount(server.keyport);
    const rs = await server.keyport.clientService.createResourceServer({ name: 'api' });
    const first = await revoke(other, victim.clientSecret);
    const second = await revoke({ clientId: rs.client.client_id, clientSecret: rs.clientSecret! }, victim.clientSecret);
    const unknown = await revoke(other, 'not-a-key-at-all');
    for (const res of [first, second, unknown]) {
      expect(res.status).toBe(200);
      expect(res.text).toBe(unknown.text);
    }
    expect(await revokedAt(victim.clientId)).toBeNull();
    expect((await tokenFor(victim)).status).toBe(200);
  });
});
