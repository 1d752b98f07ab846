import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type CryptoKey } from 'jose';
import * as oauth from 'openid-client';
import bcrypt from 'bcrypt';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe.each(DATABASES)('private_key_jwt (RFC 7523) on $name', (database) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let teamId: number;
  let rsaClient: string;
  let ecClient: string;
  let rs: { clientId: string; clientSecret: string };
  let tokenUrl: string;

  interface SignOptions {
    claims?: Record<string, unknown>;
    omit?: string[];
    alg?: string;
    key?: CryptoKey | Uint8Array;
    header?: Record<string, unknown>;
  }

  /** A fresh assertion for `clientId`, valid unless the options spoil it. */
  async function assertion(
    clientId: string,
    { claims = {}, omit = [], alg = 'RS256', key = rsa.privateKey, header = {} }: SignOptions = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: clientId,
      sub: clientId,
      aud: server.url,
      jti: randomUUID(),
      iat: now,
      exp: now + 60,
      ...claims,
    };
    for (const name of omit) delete payload[name];
    return new SignJWT(payload).setProtectedHeader({ alg, ...header }).sign(key);
  }

  const tokenWith = (clientAssertion: string, extra: Record<string, string> = {}) =>
    postForm(tokenUrl, {
      grant_type: 'client_credentials',
      scope: 'api:read',
      client_assertion_type: JWT_BEARER,
      client_assertion: clientAssertion,
      ...extra,
    });

  const expectInvalidClient = async (clientAssertion: string) => {
    const res = await tokenWith(clientAssertion);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    second = await startServer(created.url, { keys_dir: server.config.keysDir });
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    const team = await server.keyport.teamService.createTeam({ name: 'Jwt', plan: 'pro' });
    teamId = team.id;
    const a = await server.keyport.clientService.createServiceAccount({
      teamId,
      name: 'rsa',
      publicKeyPem: await exportSPKI(rsa.publicKey),
    });
    const b = await server.keyport.clientService.createServiceAccount({
      teamId,
      name: 'ec',
      publicKeyPem: await exportSPKI(ec.publicKey),
    });
    expect(a.clientSecret).toBeUndefined();
    rsaClient = a.client.client_id;
    ecClient = b.client.client_id;
    const resourceServer = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { clientId: resourceServer.client.client_id, clientSecret: resourceServer.clientSecret! };
    tokenUrl = `${server.url}/token`;
  });

  afterAll(async () => {
    await second.close();
    await server.close();
    await drop();
  });

  describe('gets a token', () => {
    it('with RS256, and introspection names the team and the service-account user', async () => {
      const res = await tokenWith(await assertion(rsaClient));
      expect(res.status).toBe(200);
      const created = await server.keyport.clientService.get(rsaClient);
      const intro = await postForm(
        `${server.url}/token/introspection`,
        { token: res.body.access_token as string },
        { authorization: basic(rs.clientId, rs.clientSecret) },
      );
      expect(intro.body).toMatchObject({
        active: true,
        client_id: rsaClient,
        team_id: teamId,
        sub: String(created.userId),
      });
    });

    it('with PS256 on the same RSA key', async () => {
      const pss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256');
      expect((await tokenWith(await assertion(rsaClient, { alg: 'PS256', key: pss }))).status).toBe(200);
    });

    it('with ES256 for an EC P-256 key', async () => {
      expect((await tokenWith(await assertion(ecClient, { alg: 'ES256', key: ec.privateKey }))).status).toBe(200);
    });

    it('with aud set to the token endpoint URL', async () => {
      expect((await tokenWith(await assertion(rsaClient, { claims: { aud: tokenUrl } }))).status).toBe(200);
    });

    it('through openid-client with PrivateKeyJwt', async () => {
      const config = await oauth.discovery(
        new URL(server.url),
        rsaClient,
        undefined,
        oauth.PrivateKeyJwt(rsa.privateKey),
        { execute: [oauth.allowInsecureRequests] },
      );
      const tokens = await oauth.clientCredentialsGrant(config, { scope: 'api:read' });
      expect(tokens.access_token).toEqual(expect.any(String));
    });
  });

  describe('refuses with 401 invalid_client', () => {
    it('iss other than the client_id', async () =>
      expectInvalidClient(await assertion(rsaClient, { claims: { iss: ecClient } })));
    it('sub naming another client', async () =>
      expectInvalidClient(await assertion(rsaClient, { claims: { sub: ecClient } })));
    it('aud naming another server', async () =>
      expectInvalidClient(await assertion(rsaClient, { claims: { aud: 'https://elsewhere.example' } })));
    it('aud as an array with anything else in it', async () =>
      expectInvalidClient(await assertion(rsaClient, { claims: { aud: [server.url, 'https://elsewhere.example'] } })));
    it('no exp', async () => expectInvalidClient(await assertion(rsaClient, { omit: ['exp'] })));
    it('an expired assertion', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectInvalidClient(await assertion(rsaClient, { claims: { iat: now - 120, exp: now - 60 } }));
    });
    it('a lifetime over an hour (max_assertion_lifetime_seconds)', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectInvalidClient(await assertion(rsaClient, { claims: { iat: now, exp: now + 3700 } }));
    });
    it('a lifetime over an hour without iat', async () =>
      expectInvalidClient(
        await assertion(rsaClient, { omit: ['iat'], claims: { exp: Math.floor(Date.now() / 1000) + 3700 } }),
      ));
    it('iat in the future beyond the clock tolerance', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectInvalidClient(await assertion(rsaClient, { claims: { iat: now + 60, exp: now + 120 } }));
    });
    it('no jti', async () => expectInvalidClient(await assertion(rsaClient, { omit: ['jti'] })));
    it('no iss', async () => expectInvalidClient(await assertion(rsaClient, { omit: ['iss'] })));
    it('a replayed assertion', async () => {
      const once = await assertion(rsaClient);
      expect((await tokenWith(once)).status).toBe(200);
      await expectInvalidClient(once);
    });
    it('alg none', async () => {
      const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: rsaClient, sub: rsaClient, aud: server.url, jti: randomUUID(), exp: now + 60 })}.`;
      await expectInvalidClient(unsigned);
    });
    it('HS256 signed with the public key as the secret', async () => {
      const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
      await expectInvalidClient(await assertion(rsaClient, { alg: 'HS256', key: pem }));
    });
    it("another client's key", async () =>
      expectInvalidClient(await assertion(rsaClient, { alg: 'ES256', key: ec.privateKey })));
    it('an algorithm other than the key’s (ES256 claimed on an RSA key)', async () => {
      const other = await generateKeyPair('ES256');
      await expectInvalidClient(await assertion(rsaClient, { alg: 'ES256', key: other.privateKey }));
    });
    it('a key carried in the jwk header, signed with that key', async () => {
      const attacker = await generateKeyPair('RS256', { extractable: true });
      await expectInvalidClient(
        await assertion(rsaClient, { key: attacker.privateKey, header: { jwk: await exportJWK(attacker.publicKey) } }),
      );
    });
    it('jku and x5u headers, which are never fetched', async () => {
      let fetched = 0;
      const bait = createServer((_req, res) => {
        fetched++;
        res.end('{}');
      });
      await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(bait.address() as AddressInfo).port}/jwks`;
      try {
        await expectInvalidClient(await assertion(rsaClient, { header: { jku: url } }));
        await expectInvalidClient(await assertion(rsaClient, { header: { x5u: url } }));
        expect(fetched).toBe(0);
      } finally {
        bait.close();
      }
    });
    it('a JWT client presenting a secret', async () => {
      const res = await postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        { authorization: basic(rsaClient, 'keyport_sk_prod_guess') },
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
    it('a secret client presenting an assertion', async () => {
      const sa = await seedServiceAccount(server.keyport);
      await expectInvalidClient(await assertion(sa.clientId));
    });
  });

  describe('malformed requests answer 4xx, never 5xx', () => {
    it.each([
      ['a non-JWT assertion', 'not-a-jwt'],
      ['three garbage segments', 'a.b.c'],
      ['a 50 KB assertion', 'e'.repeat(50 * 1024)],
    ])('%s', async (_name, value) => {
      const res = await tokenWith(value);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it('a wrong client_assertion_type answers 400 invalid_request', async () => {
      const res = await tokenWith(await assertion(rsaClient), { client_assertion_type: 'urn:example:other' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });
  });

  it('jti is single-use across two server processes on one database: of ten parallel copies exactly one succeeds', async () => {
    const once = await assertion(rsaClient);
    const urls = [server.url, second.url];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        postForm(`${urls[i % 2]}/token`, {
          grant_type: 'client_credentials',
          client_assertion_type: JWT_BEARER,
          client_assertion: once,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(401)]);
  });

  describe('switching a client to a key', () => {
    it('clientsetkey: the old secret stops working at once, assertions work', async () => {
      const sa = await seedServiceAccount(server.keyport);
      const before = await postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        { authorization: basic(sa.clientId, sa.clientSecret) },
      );
      expect(before.status).toBe(200);
      await server.keyport.clientService.setPublicKey(sa.clientId, await exportSPKI(rsa.publicKey));
      const after = await postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        { authorization: basic(sa.clientId, sa.clientSecret) },
      );
      expect(after.status).toBe(401);
      expect((await tokenWith(await assertion(sa.clientId))).status).toBe(200);
    });

    it('a row edited by hand (hash removed, PEM pasted) works without a restart', async () => {
      const secret = 'Hand-Edited-1';
      await server.keyport
        .db('o_auth_clients')
        .insert({ client_id: 'handjwt', client_secret_hash: await bcrypt.hash(secret, 10), team_id: teamId });
      expect(
        (await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic('handjwt', secret) }))
          .status,
      ).toBe(200);
      await server.keyport
        .db('o_auth_clients')
        .where({ client_id: 'handjwt' })
        .update({ client_secret_hash: null, client_r_s_a_public_key: await exportSPKI(rsa.publicKey) });
      expect((await tokenWith(await assertion('handjwt'))).status).toBe(200);
      expect(
        (await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic('handjwt', secret) }))
          .status,
      ).toBe(401);
    });
  });
});
