import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
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

  const token = (authorization: string, form: Record<string, string> = { grant_type: 'client_credentials' }) =>
    postForm(`${server.url}/token`, form, { authorization });
  const introspect = (value: string) =>
    postForm(`${server.url}/token/introspection`, { token: value }, { authorization: basic(rs.id, rs.secret) });
  /** Basic credentials as curl -u and authlib send them: not form-encoded. */
  const rawBasic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      auth_failures: { per_client: 50, per_address: 500, window_seconds: 300 },
    });
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
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      scopes: ['api:read', 'api:write'],
    });
    const config = await oauth.discovery(
      new URL(server.url),
      created.client.client_id,
      undefined,
      oauth.ClientSecretBasic(created.clientSecret!),
      { execute: [oauth.allowInsecureRequests] },
    );
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
    // A chosen secret (a generated one needs no bcrypt at all: its digest proves it).
    const created = await server.keyport.clientService.createServiceAccount({ teamId, clientSecret: 'Cold-Client-77' });
    const before = server.keyport.limits.bcrypt.started;
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => token(basic(created.client.client_id, created.clientSecret!))),
    );
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
      await server.keyport
        .db('o_auth_clients')
        .where({ client_id: expiring.client.client_id })
        .update({ expires_at: 1 });
      const live = await server.keyport.clientService.createServiceAccount({ teamId });
      const attempts: Array<[string, string, string]> = [
        ['unknown_client', 'no-such-client', 'x'],
        ['client_revoked', revoked.client.client_id, revoked.clientSecret!],
        ['client_expired', expiring.client.client_id, expiring.clientSecret!],
        ['wrong_secret', live.client.client_id, 'wrong'],
      ];
      const metric = async (reason: string) => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return Number(
          new RegExp(`keyport_client_auth_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
        );
      };
      for (const [reason, id, secret] of attempts) {
        const before = await metric(reason);
        const res = await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(id, secret) },
        );
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

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-authlib (.ci/run installs it)
const AUTHLIB_SCRIPT = join(import.meta.dirname, '../clients/authlib_token.py');
const authlib = async (...args: string[]) => {
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [AUTHLIB_SCRIPT, ...args]);
    return { code: 0, token: JSON.parse(stdout) as Record<string, unknown>, stderr: '' };
  } catch (err) {
    return { code: (err as { code: number }).code, token: undefined, stderr: (err as { stderr: string }).stderr };
  }
};

describe.each(DATABASES)('private_key_jwt as libraries send it, on $name', (database) => {
  const OPERATOR = 'k'.repeat(40);
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const assertion = (
    clientId: string,
    key: CryptoKey,
    { kid, lifetime = 60, iat = Math.floor(Date.now() / 1000) }: { kid?: string; lifetime?: number; iat?: number } = {},
  ) =>
    new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', ...(kid ? { kid } : {}) })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(server.url)
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifetime)
      .sign(key);
  const tokenWith = async (clientId: string, jwt: string) =>
    postForm(`${server.url}/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("1. a JWK's kid is kept and matched; openid-client's PrivateKeyJwt({ key, kid }) gets a token", async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const created = await api('POST', `/teams/${teamId}/clients`, {
      kind: 'service_account_jwt',
      public_key: { ...(await exportJWK(pair.publicKey)), kid: 'key-2026' },
    });
    expect(created.status).toBe(201);
    const clientId = created.body.client_id as string;
    const config = await oauth.discovery(
      new URL(server.url),
      clientId,
      undefined,
      oauth.PrivateKeyJwt({ key: pair.privateKey, kid: 'key-2026' }),
      { execute: [oauth.allowInsecureRequests] },
    );
    expect((await oauth.clientCredentialsGrant(config)).access_token).toEqual(expect.any(String));
    // With one registered key, a kid that names no key is still refused.
    expect((await tokenWith(clientId, await assertion(clientId, pair.privateKey, { kid: 'nope' }))).status).toBe(401);
  });

  it('1. a key pair rotates without downtime: add a key by kid, use either, remove the old one; never the last, never a fourth', async () => {
    const first = await generateKeyPair('RS256', { extractable: true });
    const second = await generateKeyPair('RS256', { extractable: true });
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      publicKeyPem: await exportSPKI(first.publicKey),
    });
    const clientId = created.client.client_id;
    const added = await api('POST', `/teams/${teamId}/clients/${clientId}/keys`, {
      public_key: await exportSPKI(second.publicKey),
      kid: 'next',
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ kid: 'next' });

    expect((await tokenWith(clientId, await assertion(clientId, first.privateKey))).status).toBe(200);
    expect((await tokenWith(clientId, await assertion(clientId, second.privateKey, { kid: 'next' }))).status).toBe(200);
    expect((await tokenWith(clientId, await assertion(clientId, second.privateKey))).status).toBe(200);

    const oldKid = (await server.keyport.clientService.get(clientId)).publicKeys[0]!.kid;
    for (let i = 0; i < 2; i++) {
      const extra = await generateKeyPair('RS256', { extractable: true });
      const added = await api('POST', `/teams/${teamId}/clients/${clientId}/keys`, {
        public_key: await exportSPKI(extra.publicKey),
      });
      expect(added.status).toBe(i === 0 ? 201 : 400);
    }
    expect(
      (await api('DELETE', `/teams/${teamId}/clients/${clientId}/keys/${encodeURIComponent(oldKid)}`)).status,
    ).toBe(204);
    expect((await tokenWith(clientId, await assertion(clientId, first.privateKey))).status).toBe(401);
    expect((await tokenWith(clientId, await assertion(clientId, second.privateKey, { kid: 'next' }))).status).toBe(200);
    const left = (await server.keyport.clientService.get(clientId)).publicKeys.map((k) => k.kid);
    expect(left).toHaveLength(2);
    expect(
      (await api('DELETE', `/teams/${teamId}/clients/${clientId}/keys/${encodeURIComponent(left[1]!)}`)).status,
    ).toBe(204);
    const last = await api('DELETE', `/teams/${teamId}/clients/${clientId}/keys/next`);
    expect(last.status).toBe(400);
    expect(last.body.error).toBe('invalid_request');
  });

  it('2. an hour-long assertion and 10 s of clock skew are accepted; a replay of it is still refused', async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const created = await server.keyport.clientService.createServiceAccount({
      teamId,
      publicKeyPem: await exportSPKI(pair.publicKey),
    });
    const clientId = created.client.client_id;
    const hour = await assertion(clientId, pair.privateKey, { lifetime: 3600 });
    expect((await tokenWith(clientId, hour)).status).toBe(200);
    expect((await tokenWith(clientId, hour)).status).toBe(401);
    expect(
      (
        await tokenWith(
          clientId,
          await assertion(clientId, pair.privateKey, { iat: Math.floor(Date.now() / 1000) + 10 }),
        )
      ).status,
    ).toBe(200);
  });

  it('2 and 5. Python authlib on its defaults gets a token: private_key_jwt (an hour-long assertion) and a secret with % and +', async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const jwtClient = await server.keyport.clientService.createServiceAccount({
      teamId,
      publicKeyPem: await exportSPKI(pair.publicKey),
    });
    const keyFile = join(mkdtempSync(join(tmpdir(), 'keyport-authlib-')), 'client.pem');
    writeFileSync(keyFile, await exportPKCS8(pair.privateKey), { mode: 0o600 });
    const viaJwt = await authlib(server.url, jwtClient.client.client_id, 'private_key_jwt', keyFile);
    expect(viaJwt.stderr).toBe('');
    expect(viaJwt.token).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });

    const secretClient = await server.keyport.clientService.createServiceAccount({
      teamId,
      clientSecret: 'Pa%ss+word1',
    });
    const viaSecret = await authlib(server.url, secretClient.client.client_id, 'client_secret_basic', 'Pa%ss+word1');
    expect(viaSecret.stderr).toBe('');
    expect(viaSecret.token).toMatchObject({ access_token: expect.any(String) });
  });
});
