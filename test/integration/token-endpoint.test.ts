import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcrypt';
import * as oauth from 'openid-client';
import { DATABASES } from '../helpers/databases.js';
import { storageKey } from '../../src/persistence/sql/oidc-adapter.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

describe.each(DATABASES)('token endpoint, introspection and revocation on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let sa: Awaited<ReturnType<typeof seedServiceAccount>>;
  let rs: { clientId: string; clientSecret: string };
  let tokenUrl: string;
  let introspectionUrl: string;
  let revocationUrl: string;

  const discover = (clientId: string, secret: string, auth = oauth.ClientSecretBasic(secret)) =>
    oauth.discovery(new URL(server.url), clientId, undefined, auth, { execute: [oauth.allowInsecureRequests] });
  const clientCredentials = (
    form: Record<string, string> = {},
    headers = { authorization: basic(sa.clientId, sa.clientSecret) },
  ) => postForm(tokenUrl, { grant_type: 'client_credentials', ...form }, headers);
  const introspect = (token: string, clientId = rs.clientId, secret = rs.clientSecret) =>
    postForm(introspectionUrl, { token }, { authorization: basic(clientId, secret) });
  const newToken = async (scope = 'api:read') => (await clientCredentials({ scope })).body.access_token as string;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    sa = await seedServiceAccount(server.keyport);
    const resourceServer = await server.keyport.clientService.createResourceServer({ name: 'billing-api' });
    rs = { clientId: resourceServer.client.client_id, clientSecret: resourceServer.clientSecret! };
    const discovery = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      string
    >;
    tokenUrl = discovery.token_endpoint!;
    introspectionUrl = discovery.introspection_endpoint!;
    revocationUrl = discovery.revocation_endpoint!;
  });

  afterAll(async () => {
    await server.close();
    await drop();
  });

  describe('discovery', () => {
    it('names every endpoint and advertises no method that needs a secret in clear', async () => {
      const res = await fetch(`${server.url}/.well-known/openid-configuration`);
      const body = (await res.json()) as Record<string, string[] | string>;
      expect(body.issuer).toBe(server.url);
      for (const endpoint of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'jwks_uri'])
        expect(body[endpoint]).toMatch(/^http/);
      expect(body.token_endpoint_auth_methods_supported).toEqual([
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ]);
      expect(body.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256');
      expect(body.registration_endpoint).toBeUndefined();
      expect(body.request_parameter_supported).not.toBe(true);
    });
  });

  describe('client_credentials with a secret', () => {
    it('client_secret_basic gets a token (openid-client)', async () => {
      const config = await discover(sa.clientId, sa.clientSecret);
      const tokens = await oauth.clientCredentialsGrant(config, { scope: 'api:read' });
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('api:read');
      expect(tokens.expires_in).toBe(3600);
    });

    it('client_secret_post gets a token (openid-client)', async () => {
      const config = await discover(sa.clientId, sa.clientSecret, oauth.ClientSecretPost(sa.clientSecret));
      const tokens = await oauth.clientCredentialsGrant(config, { scope: 'api:read api:write' });
      expect(tokens.scope).toBe('api:read api:write');
    });

    it('the answer carries Cache-Control: no-store', async () => {
      const res = await clientCredentials({ scope: 'api:read' });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('only a bcrypt hash is stored, of cost 10', async () => {
      const row = await server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).first();
      expect(row.client_secret_hash).toMatch(/^\$2b\$10\$/);
      expect(JSON.stringify(row)).not.toContain(sa.clientSecret);
      expect(await bcrypt.compare(sa.clientSecret, row.client_secret_hash)).toBe(true);
    });
  });

  describe('RFC 6749 §5.2 errors', () => {
    const invalidClient = { error: 'invalid_client', error_description: 'client authentication failed' };

    it('a wrong secret answers 401 invalid_client with WWW-Authenticate', async () => {
      const res = await clientCredentials({}, { authorization: basic(sa.clientId, 'keyport_sk_prod_wrong') });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('an unknown client answers the same 401 body', async () => {
      const res = await clientCredentials({}, { authorization: basic('NoSuchClient0000', sa.clientSecret) });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it("another client's secret answers the same 401 body", async () => {
      const res = await clientCredentials({}, { authorization: basic(sa.clientId, rs.clientSecret) });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
    });

    it('no credentials at all answer 401 invalid_client, without WWW-Authenticate', async () => {
      const res = await clientCredentials({}, {} as never);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
      expect(res.headers.get('www-authenticate')).toBeNull();
    });

    it('an empty secret in the Basic header answers 401 invalid_client with WWW-Authenticate', async () => {
      const res = await clientCredentials(
        {},
        { authorization: `Basic ${Buffer.from(`${sa.clientId}:`).toString('base64')}` },
      );
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('an empty client_secret in the body answers 401 invalid_client', async () => {
      const res = await clientCredentials({ client_id: sa.clientId, client_secret: '' }, {} as never);
      expect(res.status).toBe(401);
      expect(res.body).toEqual(invalidClient);
    });

    it('two authentication methods at once answer 400 invalid_request', async () => {
      const res = await clientCredentials({ client_secret: sa.clientSecret });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });

    it('a grant the client may not use answers 400 unauthorized_client', async () => {
      const res = await postForm(
        tokenUrl,
        { grant_type: 'authorization_code', code: 'x', redirect_uri: 'urn:ietf:wg:oauth:2.0:oob' },
        { authorization: basic(sa.clientId, sa.clientSecret) },
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unauthorized_client');
    });

    it('a resource server may not use client_credentials: 400 unauthorized_client', async () => {
      const res = await clientCredentials({}, { authorization: basic(rs.clientId, rs.clientSecret) });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unauthorized_client');
    });

    it('an unknown grant type answers 400 unsupported_grant_type', async () => {
      const res = await clientCredentials({ grant_type: 'urn:example:nope' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unsupported_grant_type');
    });

    it('a scope the client was not given answers 400 invalid_scope', async () => {
      for (const scope of ['keys:manage', 'no-such-scope', 'api:read admin']) {
        const res = await clientCredentials({ scope });
        expect(res.status, scope).toBe(400);
        expect(res.body.error, scope).toBe('invalid_scope');
      }
    });
  });

  describe('hostile and malformed input answers 4xx, never 5xx', () => {
    const cases: Array<[string, () => Promise<{ status: number }>]> = [
      ['SQL in the client id', () => clientCredentials({}, { authorization: basic("' OR '1'='1' -- ", 'x') })],
      ['SQL in the secret', () => clientCredentials({}, { authorization: basic(sa.clientId, "' OR 1=1 --") })],
      ['unicode client id and secret', () => clientCredentials({}, { authorization: basic('ünï😀code', 'sëcret😀') })],
      [
        'raw UTF-8 in the Basic header',
        () => clientCredentials({}, { authorization: `Basic ${Buffer.from('ü:ö').toString('base64')}` }),
      ],
      ['a Basic header that is not base64', () => clientCredentials({}, { authorization: 'Basic %%%not-base64' })],
      [
        'a Basic header with no colon',
        () => clientCredentials({}, { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }),
      ],
      ['a Bearer header at the token endpoint', () => clientCredentials({}, { authorization: 'Bearer abc' })],
      ['a 10,000-character client id', () => clientCredentials({}, { authorization: basic('a'.repeat(10_000), 'x') })],
      [
        'a JSON body',
        () =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: basic(sa.clientId, sa.clientSecret) },
            body: '{"grant_type":"client_credentials"}',
          }),
      ],
      [
        'a 100 KB body',
        () =>
          postForm(
            tokenUrl,
            { grant_type: 'client_credentials', pad: 'x'.repeat(100 * 1024) },
            { authorization: basic(sa.clientId, sa.clientSecret) },
          ),
      ],
      [
        'a 64 KB header',
        () =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: { 'x-pad': 'x'.repeat(64 * 1024) },
            body: 'grant_type=client_credentials',
          }),
      ],
      [
        'a duplicated grant_type',
        () =>
          fetch(tokenUrl, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: basic(sa.clientId, sa.clientSecret),
            },
            body: 'grant_type=client_credentials&grant_type=client_credentials',
          }),
      ],
    ];

    it.each(cases)('%s', async (_name, send) => {
      const { status } = await send();
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
    });

    it('a 1 KB secret is rejected as invalid_client without bcrypt work', async () => {
      const res = await clientCredentials({}, { authorization: basic(sa.clientId, 'x'.repeat(1024)) });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
  });

  describe('RFC 7662 introspection', () => {
    it("tells a resource server the service account's team and user", async () => {
      const config = await discover(rs.clientId, rs.clientSecret);
      const result = await oauth.tokenIntrospection(config, await newToken());
      expect(result).toMatchObject({
        active: true,
        client_id: sa.clientId,
        team_id: sa.team.id,
        sub: String(sa.userId),
        scope: 'api:read',
        iss: server.url,
        environment: 'prod',
      });
    });

    it('carries Cache-Control: no-store', async () => {
      const res = await introspect(await newToken());
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('a client may introspect its own token', async () => {
      const res = await introspect(await newToken(), sa.clientId, sa.clientSecret);
      expect(res.body.active).toBe(true);
    });

    it('another client sees {active:false} for a token that is not its own', async () => {
      const other = await server.keyport.clientService.createServiceAccount({ teamId: sa.team.id, name: 'other' });
      const res = await introspect(await newToken(), other.client.client_id, other.clientSecret!);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ active: false });
    });

    it('an unknown token answers 200 {active:false} and nothing else', async () => {
      const res = await introspect('not-a-token');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ active: false });
    });

    it('an expired token answers {active:false}', async () => {
      const token = await newToken();
      await server.keyport
        .db('oidc_payloads')
        .where({ type: 'ClientCredentials', id: storageKey(token) })
        .update({ expires_at: 1 });
      expect((await introspect(token)).body).toEqual({ active: false });
    });

    it('without credentials answers 401 invalid_client', async () => {
      const res = await postForm(introspectionUrl, { token: await newToken() });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
  });

  describe('RFC 7009 revocation', () => {
    it('a client revokes its own token, which then introspects inactive', async () => {
      const token = await newToken();
      const config = await discover(sa.clientId, sa.clientSecret);
      await oauth.tokenRevocation(config, token);
      expect((await introspect(token)).body).toEqual({ active: false });
    });

    it('an unknown token answers 200', async () => {
      const res = await postForm(
        revocationUrl,
        { token: 'no-such-token' },
        { authorization: basic(sa.clientId, sa.clientSecret) },
      );
      expect(res.status).toBe(200);
    });

    it('without credentials answers 401 invalid_client', async () => {
      const res = await postForm(revocationUrl, { token: 'x' });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
  });

  describe('revoking a client', () => {
    it('fails it at the token endpoint at once and deactivates its issued tokens', async () => {
      const created = await server.keyport.clientService.createServiceAccount({
        teamId: sa.team.id,
        name: 'to-revoke',
      });
      const auth = { authorization: basic(created.client.client_id, created.clientSecret!) };
      const token = (await clientCredentials({ scope: 'api:read' }, auth)).body.access_token as string;
      expect((await introspect(token)).body.active).toBe(true);

      await server.keyport.clientService.revoke(created.client.client_id);

      const res = await clientCredentials({}, auth);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect((await introspect(token)).body).toEqual({ active: false });
    });
  });

  describe('plan gating', () => {
    it('a client whose team loses API access gets 400 unauthorized_client until the plan is restored', async () => {
      await server.keyport.db('teams').where({ id: sa.team.id }).update({ plan: 'starter' });
      const refused = await clientCredentials({ scope: 'api:read' });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('unauthorized_client');

      await server.keyport.db('teams').where({ id: sa.team.id }).update({ plan: 'pro' });
      expect((await clientCredentials({ scope: 'api:read' })).status).toBe(200);
    });
  });

  describe('rows inserted by hand, the runbook way', () => {
    it('work at once, with a hash written by htpasswd -nbBC 10 ($2y$)', async () => {
      const secret = 'runbook-Secret-1';
      // htpasswd writes PHP's $2y$ prefix; the algorithm is bcrypt's, as $2b$.
      const hash = (await bcrypt.hash(secret, 10)).replace(/^\$2b\$/, '$2y$');
      await server.keyport
        .db('o_auth_clients')
        .insert({ client_id: 'runbook1', client_secret_hash: hash, team_id: sa.team.id });
      const res = await clientCredentials({ scope: 'api:read' }, { authorization: basic('runbook1', secret) });
      expect(res.status).toBe(200);
      expect((await introspect(res.body.access_token as string)).body).toMatchObject({
        active: true,
        team_id: sa.team.id,
      });
    });

    it('accept $2a$ hashes too', async () => {
      const secret = 'runbook-Secret-2';
      const hash = (await bcrypt.hash(secret, 10)).replace(/^\$2b\$/, '$2a$');
      await server.keyport
        .db('o_auth_clients')
        .insert({ client_id: 'runbook2', client_secret_hash: hash, team_id: sa.team.id });
      expect((await clientCredentials({}, { authorization: basic('runbook2', secret) })).status).toBe(200);
    });

    it('match client ids byte for byte: case and trailing spaces name another client', async () => {
      const secret = 'runbook-Secret-3';
      await server.keyport
        .db('o_auth_clients')
        .insert({ client_id: 'sa1', client_secret_hash: await bcrypt.hash(secret, 10), team_id: sa.team.id });
      expect((await clientCredentials({}, { authorization: basic('sa1', secret) })).status).toBe(200);
      for (const variant of ['SA1', 'sa1 ', 'Sa1']) {
        const res = await clientCredentials({}, { authorization: basic(variant, secret) });
        expect(res.status, JSON.stringify(variant)).toBe(401);
      }
    });
  });
});
