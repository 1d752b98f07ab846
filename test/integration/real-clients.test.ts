import * as oauth from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

/** Issue 14: what client libraries send on their defaults. */
describe.each(DATABASES)('real clients on their defaults, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string };

  const token = (authorization: string, form: Record<string, string> = { grant_type: 'client_credentials' }) => postForm(`${server.url}/token`, form, { authorization });
  const introspect = (value: string) => postForm(`${server.url}/token/introspection`, { token: value }, { authorization: basic(rs.id, rs.secret) });
  /** Basic credentials as curl -u and authlib send them: not form-encoded. */
  const rawBasic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { auth_failures: { per_client: 50, per_address: 500, window_seconds: 300 } });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  beforeEach(async () => {
    await server.keyport.db('rate_limits').delete();
    server.keyport.limits.failures.forget();
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('4. a client_credentials request without scope gets every scope the client was registered with (openid-client defaults)', async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read', 'api:write'] });
    const config = await oauth.discovery(new URL(server.url), created.client.client_id, undefined, oauth.ClientSecretBasic(created.clientSecret!), { execute: [oauth.allowInsecureRequests] });
    const tokens = await oauth.clientCredentialsGrant(config);
    expect(tokens.scope).toBe('api:read api:write');
    expect((await introspect(tokens.access_token)).body).toMatchObject({ active: true, scope: 'api:read api:write' });
    // Asking for less still gets less.
    expect((await oauth.clientCredentialsGrant(config, { scope: 'api:read' })).scope).toBe('api:read');
  });

  it('5. a chosen secret with % and + works sent raw (curl -u, authlib) and form-encoded (RFC 6749 §2.3.1)', async () => {
    for (const secret of ['Pa%ss+word1', 'Pa%41ss+w0rd', '100%Sure+x']) {
      const created = await server.keyport.clientService.createServiceAccount({ teamId, clientSecret: secret });
      const id = created.client.client_id;
      expect((await token(rawBasic(id, secret))).status, `raw ${secret}`).toBe(200);
      expect((await token(basic(id, secret))).status, `encoded ${secret}`).toBe(200);
      expect((await token(rawBasic(id, `${secret}x`))).status).toBe(401);
    }
  });

  it('6. a cold client is not refused: 32 concurrent first requests share one bcrypt check', async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId });
    const before = server.keyport.limits.bcrypt.started;
    const answers = await Promise.all(Array.from({ length: 32 }, () => token(basic(created.client.client_id, created.clientSecret!))));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 32 }, () => 200));
    expect(server.keyport.limits.bcrypt.started - before).toBe(1);
  });
});

describe.each(DATABASES)('3. why a client authentication failed, on $name', (database) => {
  it('the metric counts each refusal under a reason from the closed set; the wire says only invalid_client', async () => {
    const { url, drop } = await database.create();
    const server = await startServer(url);
    try {
      const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
      const revoked = await server.keyport.clientService.createServiceAccount({ teamId });
      await server.keyport.clientService.revoke(revoked.client.client_id);
      const expiring = await server.keyport.clientService.createServiceAccount({ teamId, expiresInDays: 1 });
      await server.keyport.db('o_auth_clients').where({ client_id: expiring.client.client_id }).update({ expires_at: 1 });
      const live = await server.keyport.clientService.createServiceAccount({ teamId });
      const attempts: Array<[string, string, string]> = [
        ['unknown_client', 'no-such-client', 'x'],
        ['client_revoked', revoked.client.client_id, revoked.clientSecret!],
        ['client_expired', expiring.client.client_id, expiring.clientSecret!],
        ['wrong_secret', live.client.client_id, 'wrong'],
      ];
      const metric = async (reason: string) => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return Number(new RegExp(`keyport_client_auth_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      };
      for (const [reason, id, secret] of attempts) {
        const before = await metric(reason);
        const res = await postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
        expect(await metric(reason), reason).toBe(before + 1);
      }
    } finally {
      await server.close();
      await drop();
    }
  });
});
