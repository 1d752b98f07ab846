import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';
import { OOB, pkce } from '../helpers/auth-flow.js';

/*
 * One test per file in src/oidc/overrides/: each fails when its install… call
 * is removed from src/oidc/provider.ts.
 */
describe.each(DATABASES)('changes keyport makes to oidc-provider, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let sa: Awaited<ReturnType<typeof seedServiceAccount>>;
  let appId: string;
  const token = (headers: Record<string, string>, form: Record<string, string> = {}) =>
    postForm(`${server.url}/token`, { grant_type: 'client_credentials', ...form }, headers);
  const failures = async (reason: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(new RegExp(`keyport_client_auth_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const authorize = (params: Record<string, string>) =>
    fetch(`${server.url}/auth?${new URLSearchParams({ client_id: appId, response_type: 'code', ...params })}`, {
      redirect: 'manual',
    });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      auth_failures: { per_client: 3, per_address: 100, window_seconds: 300 },
    });
    sa = await seedServiceAccount(server.keyport);
    appId = (await server.keyport.clientService.createApp({ teamId: sa.team.id, name: 'cli app' })).client.client_id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('install-client-lookup: an unknown client_id is counted as unknown_client', async () => {
    const before = await failures('unknown_client');
    expect((await token({ authorization: basic('no-such-client', 'x') })).status).toBe(401);
    expect(await failures('unknown_client')).toBe(before + 1);
  });

  it('install-secret-comparison: a service account secret, kept as a bcrypt hash, gets a token', async () => {
    const res = await token({ authorization: basic(sa.clientId, sa.clientSecret) });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });

  it('install-auth-failure-reasons: a method other than the registered one is counted as wrong_auth_method', async () => {
    const before = await failures('wrong_auth_method');
    // A secret-holding service account sends a client_assertion (private_key_jwt) instead.
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const assertion = `${part({ alg: 'RS256' })}.${part({ iss: sa.clientId, sub: sa.clientId })}.c2ln`;
    const res = await token(
      {},
      { client_assertion: assertion, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' },
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(await failures('wrong_auth_method')).toBe(before + 1);
  });

  it('install-client-auth-throttle: a client_id failing too often answers 429 with the contract body', async () => {
    const victim = await server.keyport.clientService.createServiceAccount({ teamId: sa.team.id });
    const id = victim.client.client_id;
    for (let i = 0; i < 3; i++) expect((await token({ authorization: basic(id, 'wrong') })).status).toBe(401);
    const res = await token({ authorization: basic(id, victim.clientSecret!) });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('install-oob-page: an answer to the oob redirect is a page, not a redirect to urn:ietf:wg:oauth:2.0:oob', async () => {
    // No code_challenge: oidc-provider answers invalid_request to the redirect URI.
    const res = await authorize({ redirect_uri: OOB, scope: 'openid', state: 'Call +1-555-0100 for support' });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    const html = await res.text();
    expect(html).toContain('invalid_request');
    // Anyone's state text, shown on keyport's origin, would read as keyport's words: never shown.
    expect(html).not.toContain('555-0100');
  });

  it('install-no-form-post: response_mode=form_post is refused and left out of discovery', async () => {
    const { challenge } = pkce();
    const res = await authorize({
      redirect_uri: OOB,
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'form_post',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('form_post is not supported');
    const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as {
      response_modes_supported: string[];
    };
    expect(discovery.response_modes_supported.some((mode) => mode.includes('form_post'))).toBe(false);
  });

  it('install-page-headers: an error page oidc-provider renders carries keyport page headers', async () => {
    const res = await fetch(`${server.url}/auth?client_id=no-such-client&response_type=code`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('install-basic-as-sent: a secret with % sent raw in Basic (curl -u) is accepted', async () => {
    const secret = 'Pa%ss+word1';
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: sa.team.id,
      clientSecret: secret,
    });
    const raw = `Basic ${Buffer.from(`${created.client.client_id}:${secret}`).toString('base64')}`;
    expect((await token({ authorization: raw })).status).toBe(200);
  });

  it('install-introspection-additions: a resource server introspects a raw API key as token_type api_key', async () => {
    const rs = await server.keyport.clientService.createResourceServer({ name: 'billing-api' });
    const res = await postForm(
      `${server.url}/token/introspection`,
      { token: sa.clientSecret },
      { authorization: basic(rs.client.client_id, rs.clientSecret!) },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: true, token_type: 'api_key', client_id: sa.clientId });
  });

  it('install-token-revocation-pushes: a JWT access token revoked by its client answers 200 and is refused at /keys/verify', async () => {
    const rs = await server.keyport.clientService.createResourceServer({ name: 'jwt-api', accessTokenFormat: 'jwt' });
    const issued = await token(
      { authorization: basic(sa.clientId, sa.clientSecret) },
      { resource: `urn:keyport:rs:${rs.client.client_id}` },
    );
    expect(issued.status).toBe(200);
    const jwt = String(issued.body.access_token);
    const revoked = await postForm(
      `${server.url}/token/revocation`,
      { token: jwt },
      { authorization: basic(sa.clientId, sa.clientSecret) },
    );
    expect(revoked.status).toBe(200);
    const verified = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.client.client_id, rs.clientSecret!), 'content-type': 'application/json' },
      body: JSON.stringify({ key: jwt }),
    });
    expect(await verified.json()).toMatchObject({ valid: false, code: 'NOT_FOUND' });
  });

  it('install-token-error-wording: RFC 6749 §5.2: no client credentials answers 401 invalid_client', async () => {
    const before = await failures('missing_credentials');
    const res = await token({});
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(await failures('missing_credentials')).toBe(before + 1);
  });

  it('install-authorization-request-limit: past 60 authorization requests a minute, one address gets 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++)
      statuses.push((await fetch(`${server.url}/auth?client_id=x`, { redirect: 'manual' })).status);
    // The earlier tests here made a few authorization requests in this minute too.
    expect(statuses.filter((status) => status !== 429).length).toBeGreaterThanOrEqual(55);
    expect(statuses.at(-1)).toBe(429);
  });
});
