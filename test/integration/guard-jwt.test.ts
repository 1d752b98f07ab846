import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { authorizeThroughPages, Browser, codeOf, OOB, pkce } from '../helpers/auth-flow.js';

/**
 * Issue 27 item 2: a resource server may choose JWT access tokens (RFC 9068,
 * resource indicators, signed with keyport's keys). Its guard checks them with
 * keyport's JWKS (audience, issuer, expiry, scopes) and asks keyport once per
 * token while the event stream beats, never per call; a change to the token's
 * client (revoked, its person removed, the token revoked at /token/revocation)
 * is pushed and the token refused at once. Opaque tokens stay the default.
 */

/** A forwarding proxy in front of keyport that counts every request made through it, by path. */
async function countingProxy(upstream: string) {
  const proxy = {
    requests: [] as string[],
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      proxy.requests.push(`${req.method} ${req.url}`);
      const forwarded = httpRequest(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    }),
    url: '',
  };
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  return proxy;
}

/** Waits for a condition the system reaches on its own (the event stream beating). */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

const GUARD_BIN = join(import.meta.dirname, '../../packages/guard/bin/keyport-guard.js');
const bearer = (token: string) => ({ rawHeaders: ['Authorization', `Bearer ${token}`], url: '/projects' });

describe.each(DATABASES)('JWT access tokens checked at the guard, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let rs: { id: string; secret: string; resource: string };
  let other: { id: string; secret: string; resource: string };
  let opaqueRs: { id: string; secret: string };
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  const guards: KeyportGuard[] = [];
  /** Per guard, who waits for the next change of each client_id. */
  const waiting = new Map<KeyportGuard, Map<string, Array<() => void>>>();
  /** The next change of `clientId` that `guard` hears (its onChange hook). */
  const changed = (guard: KeyportGuard, clientId: string) =>
    new Promise<void>((resolve) => {
      const mine = waiting.get(guard)!;
      mine.set(clientId, [...(mine.get(clientId) ?? []), resolve]);
    });

  const jwtGuard = (options: Record<string, unknown> = {}) => {
    const mine = new Map<string, Array<() => void>>();
    const guard = keyportGuard({
      issuer: proxy.url,
      clientId: rs.id,
      clientSecret: rs.secret,
      // keyport's own URL is the tokens' `iss`; the guard talks to it through the counting proxy.
      jwt: { issuer: server.url },
      onChange: (id) => {
        const resolvers = mine.get(id) ?? [];
        mine.delete(id);
        for (const resolve of resolvers) resolve();
      },
      ...options,
    });
    waiting.set(guard, mine);
    guards.push(guard);
    return guard;
  };
  const newKey = async (scopes = ['api:read']) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const tokenOf = async (key: { id: string; secret: string }, form: Record<string, string> = {}) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read', ...form },
      { authorization: basic(key.id, key.secret) },
    );
  const jwtOf = async (key: { id: string; secret: string }, resource = rs.resource, scope = 'api:read') => {
    const res = await tokenOf(key, { resource, scope });
    expect(res.status).toBe(200);
    return String(res.body.access_token);
  };
  const verifyAtKeyport = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  /** A token signed with keyport's own signing key, with these claims changed: what a forger with the key could make. */
  const signed = async (claims: Record<string, unknown>, kid?: string) => {
    const { keys } = JSON.parse(readFileSync(join(server.config.keysDir, 'signing-keys.json'), 'utf8')) as {
      keys: JWK[];
    };
    const jwk = keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      client_id: 'nobody',
      scope: 'api:read',
      jti: `forged-${now}-${Math.random()}`,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: kid ?? jwk.kid! })
      .setIssuedAt(now)
      .setExpirationTime((claims.exp as number | undefined) ?? now + 600)
      .setIssuer((claims.iss as string | undefined) ?? server.url)
      .setAudience((claims.aud as string | undefined) ?? rs.resource)
      .sign(await importJWK(jwk, 'RS256'));
  };
  /** A guard whose stream beats and whose keys are fetched, with `token` confirmed by keyport once. */
  const warmed = async (guard: KeyportGuard, token: string) => {
    expect((await guard.check(bearer(token))).status).toBe(200);
    await until(() => guard.live, 'the event stream beats');
    expect((await guard.check(bearer(token))).status).toBe(200);
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const make = async (name: string) => {
      const r = await server.keyport.clientService.createResourceServer({ name, accessTokenFormat: 'jwt' });
      return { id: r.client.client_id, secret: r.clientSecret!, resource: `urn:keyport:rs:${r.client.client_id}` };
    };
    rs = await make('reports-api');
    other = await make('billing-api');
    const plain = await server.keyport.clientService.createResourceServer({ name: 'plain-api' });
    opaqueRs = { id: plain.client.client_id, secret: plain.clientSecret! };
    proxy = await countingProxy(server.url);
  });
  afterAll(async () => {
    for (const guard of guards) await guard.close();
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await server?.close();
    await drop?.();
  });

  it('a resource server that chose JWTs gets RFC 9068 tokens signed with the keys of /jwks; opaque stays the default', async () => {
    const key = await newKey();
    const token = await jwtOf(key);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: server.url,
      aud: rs.resource,
      client_id: key.id,
      scope: 'api:read',
      jti: expect.any(String),
      team_id: teamId,
    });
    expect(claims.exp! - claims.iat!).toBe(server.config.accessTokenTtlSeconds);
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(token).kid);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    // keyport's own check of it, as for any access token.
    expect(await verifyAtKeyport(token)).toMatchObject({ valid: true, code: 'VALID', client_id: key.id });

    // Without a resource, the token is opaque, as before.
    const opaque = await tokenOf(key);
    expect(opaque.status).toBe(200);
    expect(String(opaque.body.access_token).split('.')).toHaveLength(1);
    expect(await verifyAtKeyport(String(opaque.body.access_token))).toMatchObject({ code: 'VALID' });

    // A resource server that did not choose JWTs is no resource; nor is a made-up one.
    for (const resource of [`urn:keyport:rs:${opaqueRs.id}`, 'urn:keyport:rs:nobody', 'https://elsewhere.test']) {
      const refused = await tokenOf(key, { resource });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_target');
    }
  });

  it('a valid JWT is served from leases of its budget: 50 calls, a few lease renewals, no round trip per call', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const token = await jwtOf(key);
    await warmed(guard, token);
    const before = proxy.requests.length;
    for (let i = 0; i < 50; i++) {
      const verdict = await guard.check(bearer(token));
      expect(verdict.status).toBe(200);
      expect(verdict.identity).toMatchObject({ client_id: key.id, team_id: teamId, scopes: ['api:read'] });
    }
    // Every call spends the client's plan budget (issue 27 item 3); leases carry it, so keyport
    // hears of a lease's renewal, not of each call.
    const asked = proxy.requests.slice(before).filter((r) => r === 'POST /keys/verify').length;
    expect(asked).toBeLessThan(10);
    // A new token's first call asks keyport (its lease is its own); the ones after are leased.
    const second = await jwtOf(key);
    const mark = proxy.requests.length;
    expect((await guard.check(bearer(second))).status).toBe(200);
    expect(proxy.requests.slice(mark)).toEqual(['POST /keys/verify']);
  });

  it('wrong audience, wrong issuer, expired, a bad signature or an unknown key are 401 with no round trip; a missing scope 403', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const token = await jwtOf(key);
    await warmed(guard, token);
    const before = proxy.requests.filter((r) => r === 'POST /keys/verify').length;
    const now = Math.floor(Date.now() / 1000);
    const invalid = {
      status: 401,
      body: { error: 'invalid_api_key', message: 'API key is invalid or expired' },
    };
    const [head, body, signature] = token.split('.');
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'api:read api:write' })).toString('base64url')}.${signature}`;
    const refused = [
      await jwtOf(key, other.resource),
      await signed({ client_id: key.id, iss: 'http://elsewhere.test' }),
      await signed({ client_id: key.id, exp: now - 5 }),
      tampered,
      await signed({ client_id: key.id }, 'a-kid-keyport-never-had'),
      `${head}.${body}.${signature!.slice(0, -4)}AAAA`,
    ];
    for (const bad of refused) expect(await guard.check(bearer(bad))).toMatchObject(invalid);
    expect(proxy.requests.filter((r) => r === 'POST /keys/verify')).toHaveLength(before);

    const scoped = await guard.check(bearer(token), ['api:write']);
    expect(scoped).toMatchObject({
      status: 403,
      body: { error: 'insufficient_permissions', message: 'this call needs the scopes: api:write' },
    });
    expect(scoped.headers['X-RateLimit-Limit']).toMatch(/^\d+$/);
    expect((await guard.check(bearer(token), ['api:read'])).status).toBe(200);
  });

  it('a JWT revoked at /token/revocation is refused by a live guard once the change arrives; keyport refuses it too', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const token = await jwtOf(key);
    const kept = await jwtOf(key);
    await warmed(guard, token);
    expect((await guard.check(bearer(kept))).status).toBe(200);

    const heard = changed(guard, key.id);
    const revoked = await postForm(
      `${server.url}/token/revocation`,
      { token, token_type_hint: 'access_token' },
      { authorization: basic(key.id, key.secret) },
    );
    expect(revoked.status).toBe(200);
    await heard;
    expect(await guard.check(bearer(token))).toMatchObject({ status: 401, body: { error: 'invalid_api_key' } });
    expect(await verifyAtKeyport(token)).toMatchObject({ valid: false, code: 'NOT_FOUND' });
    // The client's other token is still good (keyport confirms it again).
    expect((await guard.check(bearer(kept))).status).toBe(200);
    const stored = await server.keyport.db('revoked_access_tokens').where({ jti: decodeJwt(token).jti });
    expect(stored).toEqual([{ jti: decodeJwt(token).jti, client_id: key.id, expires_at: expect.anything() }]);
  });

  it('revocation by another client changes nothing; by a resource server it revokes (RFC 7009 §2.1)', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const stranger = await newKey();
    const token = await jwtOf(key);
    await warmed(guard, token);
    const answer = await postForm(
      `${server.url}/token/revocation`,
      { token },
      { authorization: basic(stranger.id, stranger.secret) },
    );
    expect(answer.status).toBe(200);
    expect(await verifyAtKeyport(token)).toMatchObject({ code: 'VALID' });
    expect((await guard.check(bearer(token))).status).toBe(200);

    const heard = changed(guard, key.id);
    const byServer = await postForm(
      `${server.url}/token/revocation`,
      { token },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(byServer.status).toBe(200);
    await heard;
    expect((await guard.check(bearer(token))).status).toBe(401);
  });

  it('an opaque token revoked at /token/revocation is a pushed change too, and refused', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const opaque = String((await tokenOf(key)).body.access_token);
    await warmed(guard, opaque);
    const heard = changed(guard, key.id);
    expect(
      (
        await postForm(
          `${server.url}/token/revocation`,
          { token: opaque },
          { authorization: basic(key.id, key.secret) },
        )
      ).status,
    ).toBe(200);
    await heard;
    expect(await guard.check(bearer(opaque))).toMatchObject({ status: 401, body: { error: 'invalid_api_key' } });
  });

  it('a JWT is refused once its client is revoked, and once its person is removed', async () => {
    const guard = jwtGuard();
    const key = await newKey();
    const token = await jwtOf(key);
    await warmed(guard, token);
    const heard = changed(guard, key.id);
    await server.keyport.clientService.revoke(key.id);
    await heard;
    expect(await guard.check(bearer(token))).toMatchObject({ status: 401, body: { error: 'invalid_api_key' } });

    // A person's approval: an app's token through the code flow, for the JWT resource server.
    const email = 'grace@acme.test';
    const password = 'Correct-Horse-9';
    await server.keyport.teamService.addPerson({ teamId, email, password, role: 'member' });
    await server.keyport.teamService.addPerson({ teamId, email: 'ada@acme.test', password, role: 'admin' });
    const made = await server.keyport.clientService.createApp({ teamId, name: 'Reports', scopes: ['api:read'] });
    const app = { id: made.client.client_id, secret: made.clientSecret! };
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    url.search = new URLSearchParams({
      client_id: app.id,
      response_type: 'code',
      redirect_uri: OOB,
      scope: 'api:read',
      resource: rs.resource,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const { done } = await authorizeThroughPages(new Browser(server.url), url.toString(), email, password);
    const redeemed = await postForm(
      `${server.url}/token`,
      {
        grant_type: 'authorization_code',
        code: codeOf(done.text)!,
        redirect_uri: OOB,
        code_verifier: verifier,
        resource: rs.resource,
      },
      { authorization: basic(app.id, app.secret) },
    );
    expect(redeemed.status).toBe(200);
    const personal = String(redeemed.body.access_token);
    expect(decodeJwt(personal)).toMatchObject({ aud: rs.resource, client_id: app.id, grant_id: expect.any(String) });
    expect((await guard.check(bearer(personal))).status).toBe(200);
    expect((await guard.check(bearer(personal))).status).toBe(200);

    const removed = changed(guard, app.id);
    await server.keyport.teamService.removeMember({ teamId, email });
    await removed;
    expect(await guard.check(bearer(personal))).toMatchObject({ status: 401, body: { error: 'invalid_api_key' } });
  });

  it('the gateway check (keyport-guard serve --jwt) answers a JWT as the guard does: identity headers, or the contract refusal', async () => {
    const gateway = spawn(
      process.execPath,
      [GUARD_BIN, 'serve', '--issuer', server.url, '--listen', '127.0.0.1:0', '--jwt'],
      {
        env: { ...process.env, KEYPORT_CLIENT_ID: rs.id, KEYPORT_CLIENT_SECRET: rs.secret },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let out = '';
      gateway.stdout!.setEncoding('utf8');
      for await (const chunk of gateway.stdout!) {
        out += chunk;
        if (out.includes('\n')) break;
      }
      const base = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const key = await newKey();
      const token = await jwtOf(key);
      const allowed = await fetch(`${base}/projects`, { headers: { authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('x-keyport-client-id')).toBe(key.id);
      expect(allowed.headers.get('x-keyport-scopes')).toBe('api:read');
      const wrong = await fetch(`${base}/projects`, {
        headers: { authorization: `Bearer ${await jwtOf(key, other.resource)}` },
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'invalid_api_key', message: 'API key is invalid or expired' });
      const scoped = await fetch(`${base}/projects`, {
        headers: { authorization: `Bearer ${token}`, 'x-keyport-required-scopes': 'api:write' },
      });
      expect(scoped.status).toBe(403);
      expect(scoped.headers.get('x-keyport-status')).toBe('403');
    } finally {
      gateway.kill('SIGTERM');
      await once(gateway, 'exit');
    }
  });

  it('a guard without the JWT option still takes a JWT, verified by keyport on each call', async () => {
    const guard = keyportGuard({ issuer: proxy.url, clientId: rs.id, clientSecret: rs.secret, cache: false });
    guards.push(guard);
    const key = await newKey();
    const token = await jwtOf(key);
    const before = proxy.requests.length;
    expect((await guard.check(bearer(token))).status).toBe(200);
    expect((await guard.check(bearer(token))).status).toBe(200);
    // Only verifications: the earlier tests' guards may still send a usage report or reopen their stream meanwhile.
    const verifications = proxy.requests
      .slice(before)
      .filter((r) => !/^(POST \/keys\/usage|GET \/keys\/events)/.test(r));
    expect(verifications).toEqual(['POST /keys/verify', 'POST /keys/verify']);
  });
});
