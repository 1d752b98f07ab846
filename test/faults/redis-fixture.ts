import { randomBytes, randomUUID } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { expect } from 'vitest';
import type { TestDatabase } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { startRedisServer, within, type RedisServer } from '../helpers/redis-server.js';

/**
 * Issue 23 (1–3): one keyport on a database with a Redis of its own, and the
 * calls each surface's users make, each bounded by a client timeout: an
 * answer that does not arrive fails the test, whatever Redis is doing.
 */
export interface RedisFixture {
  readonly redis: RedisServer;
  readonly server: TestServer;
  readonly teamId: number;
  readonly key: { readonly id: string; readonly secret: string };
  readonly rs: { readonly id: string; readonly secret: string };
  close(): Promise<void>;
}

export const OPERATOR = randomBytes(24).toString('hex');
const PASSWORD = 'Redis-Fault-Pass-1';
const EMAIL = 'owner@acme.test';

export async function openFixture(database: TestDatabase): Promise<RedisFixture> {
  const created = await database.create();
  const redis = await startRedisServer();
  const server = await startServer(created.url, {
    redis_url: redis.url,
    admin_token: OPERATOR,
    plans: {
      pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 100_000, 100_000] },
      daily30: { api_access: true, max_keys: 100, rate_limits: [30, 30, 30] },
    },
  });
  const { teamService, clientService } = server.keyport;
  const teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  await teamService.addPerson({ teamId, email: EMAIL, password: PASSWORD, role: 'admin' });
  const key = await clientService.createServiceAccount({ teamId, name: 'ci', scopes: ['api:read'] });
  const rs = await clientService.createResourceServer({ name: 'api' });
  return {
    redis,
    server,
    teamId,
    key: { id: key.client.client_id, secret: key.clientSecret! },
    rs: { id: rs.client.client_id, secret: rs.clientSecret! },
    async close() {
      redis.thaw();
      await within(server.close(), 10_000, 'keyport closing');
      await redis.close();
      await created.drop();
    },
  };
}

const bounded = <T>(what: string, promise: Promise<T>) => within(promise, 5000, what);

export const token = (f: RedisFixture, secret = f.key.secret) =>
  bounded(
    '/token',
    postForm(`${f.server.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic(f.key.id, secret) }),
  );

export const verify = (f: RedisFixture, key: string) =>
  bounded(
    '/keys/verify',
    fetch(`${f.server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(f.rs.id, f.rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string } })),
  );

export const readyz = (f: RedisFixture) =>
  bounded(
    '/readyz',
    fetch(`${f.server.url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as object })),
  );

export const metrics = (f: RedisFixture) =>
  bounded(
    '/metrics',
    fetch(`${f.server.url}/metrics`).then((r) => r.text()),
  );

/** Every surface's ordinary call answers as it would with a healthy Redis. */
export async function expectNormalAnswers(f: RedisFixture): Promise<void> {
  const issued = await token(f);
  expect(issued.status).toBe(200);
  expect(issued.body.access_token).toEqual(expect.any(String));
  // Never let through unverified: a wrong secret is still refused.
  const wrong = await token(f, 'wrong-secret');
  expect(wrong.status).toBe(401);
  expect(wrong.body.error).toBe('invalid_client');

  const verified = await verify(f, f.key.secret);
  expect(verified.status).toBe(200);
  expect(verified.body.code).toBe('VALID');
  expect((await verify(f, `${f.key.secret}x`)).body.code).not.toBe('VALID');

  const introspected = await bounded(
    'introspection',
    postForm(
      `${f.server.url}/token/introspection`,
      { token: issued.body.access_token as string },
      { authorization: basic(f.rs.id, f.rs.secret) },
    ),
  );
  expect(introspected.status).toBe(200);
  expect(introspected.body.active).toBe(true);

  const listed = await bounded(
    'the admin API',
    fetch(`${f.server.url}/api/teams/${f.teamId}/clients`, { headers: { authorization: `Bearer ${OPERATOR}` } }),
  );
  expect(listed.status).toBe(200);

  const browser = new Browser(f.server.url);
  const form = await bounded('the sign-in form', browser.request('/dashboard/signin'));
  const signedIn = await bounded(
    'dashboard sign-in',
    browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email: EMAIL, password: PASSWORD } }),
  );
  expect(signedIn.status).toBe(303);

  expect((await readyz(f)).status).toBe(200);
}

/** A private_key_jwt service account and a way to sign its assertions. */
export async function jwtServiceAccount(f: RedisFixture) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const created = await f.server.keyport.clientService.createServiceAccount({
    teamId: f.teamId,
    publicKeyPem: await exportSPKI(publicKey),
  });
  const id = created.client.client_id;
  const assertion = (jti = randomUUID()) =>
    new SignJWT({ jti })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(f.server.url)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  const present = (signed: string) =>
    bounded(
      '/token with an assertion',
      postForm(`${f.server.url}/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: signed,
      }),
    );
  return { id, assertion, present };
}

/** Polls `check` until it holds (bounded): for what recovers by itself. */
export async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`the condition did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
