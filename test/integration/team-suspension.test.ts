import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitExternalPerson } from '../../src/teams/external-people.js';
import { authorizeThroughPages, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const PRODUCT = 'https://product.example';
const password = 'Suspended-Pass-1';

const sessionCookieOf = (headers: Headers) => headers.getSetCookie().find((c) => c.startsWith('kp_dashboard='));

/**
 * Issue 26 item 3: a team the product deletes is suspended. Its people are
 * refused at every dashboard sign-in (password, hand-off, the product's
 * provider) with a page that says why and no session; the sessions and tokens
 * they held end at the suspension; the team's keys stop at /token,
 * /keys/verify and introspection.
 */
describe.each(DATABASES)('a suspended team on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  let productKey: CryptoKey;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const introspect = async (token: string) =>
    (await postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) })).body;
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return (await res.json()) as { code: string; valid: boolean };
  };
  const sessionsOf = async (teamId: number) =>
    Number((await server.keyport.db('dashboard_sessions').where({ team_id: teamId }).count({ n: '*' }))[0]!.n);
  const handoff = async (team: string, email: string) => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ team, email, role: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: 'product-1' })
      .setIssuer(PRODUCT)
      .setAudience(`${server.url}/dashboard`)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .setJti(randomUUID())
      .sign(productKey);
  };
  const passwordSignIn = async (browser: Browser, email: string) => {
    const form = await browser.request('/dashboard/signin');
    return browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password } });
  };

  /** A synced team with a person who has a password, a key, and an app. */
  async function team(ext: string) {
    const { team_id: teamId } = (await api('PUT', `/teams/by-external-id/${ext}`, { name: ext, plan: 'pro' })).body;
    const email = `ada@${ext}.test`;
    await api('PUT', `/teams/by-external-id/${ext}/members/u_ada`, { email, role: 'admin' });
    await server.keyport.teamService.resetPassword({ teamId, person: { email }, password });
    return { teamId: teamId as number, email };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const pair = await generateKeyPair('ES256', { extractable: true });
    productKey = pair.privateKey;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-suspend-'));
    const jwks = join(dir, 'product.jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'product-1' }] }));
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 50 } },
      handoff_keys: jwks,
      handoff_issuer: PRODUCT,
    });
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('suspension ends the people’s dashboard sessions and their tokens, and the keys’ tokens, at once', async () => {
    const { teamId, email } = await team('org_s1');
    // A dashboard session by password, and one by hand-off.
    const byPassword = new Browser(server.url);
    expect((await passwordSignIn(byPassword, email)).status).toBe(303);
    const byHandoff = new Browser(server.url);
    expect((await byHandoff.request(`/dashboard/handoff?token=${await handoff('org_s1', email)}`)).status).toBe(303);
    expect((await byPassword.request('/dashboard/keys')).status).toBe(200);
    expect(await sessionsOf(teamId)).toBe(2);

    // An access token the person approved for an app of the team.
    const app = await server.keyport.clientService.createApp({ teamId, name: 'Reports' });
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    const params = { client_id: app.client.client_id, response_type: 'code', redirect_uri: OOB, scope: 'api:read' };
    for (const [k, v] of Object.entries({ ...params, code_challenge: challenge, code_challenge_method: 'S256' }))
      url.searchParams.set(k, v);
    const { done } = await authorizeThroughPages(new Browser(server.url), url.toString(), email, password);
    const person = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code: codeOf(done.text)!, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.client.client_id, app.clientSecret!) },
    );
    expect(person.status).toBe(200);
    // A service account's key and a client_credentials token of it.
    const key = (await api('POST', `/teams/${teamId}/clients`, { name: 'ci' })).body;
    const machine = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(key.client_id, key.client_secret) },
    );
    expect(machine.status).toBe(200);
    expect(await introspect(person.body.access_token as string)).toMatchObject({ active: true });
    expect(await introspect(machine.body.access_token as string)).toMatchObject({ active: true });
    expect(await introspect(key.client_secret)).toMatchObject({ active: true, token_type: 'api_key' });
    expect((await verify(key.client_secret)).code).toBe('VALID');

    expect((await api('DELETE', '/teams/by-external-id/org_s1')).status).toBe(204);

    expect(await sessionsOf(teamId)).toBe(0);
    for (const browser of [byPassword, byHandoff]) {
      const page = await browser.request('/dashboard/keys');
      expect(page.status).not.toBe(200);
      expect(page.text).not.toContain(email);
    }
    expect(await introspect(person.body.access_token as string)).toEqual({ active: false });
    expect(await introspect(machine.body.access_token as string)).toEqual({ active: false });
    expect(await introspect(key.client_secret)).toEqual({ active: false });
    expect(await verify(key.client_secret)).toMatchObject({ valid: false, code: 'NO_API_ACCESS' });
    const refresh = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(key.client_id, key.client_secret) },
    );
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('unauthorized_client');
    // The people's tokens with the team's apps are gone from the store.
    expect(await server.keyport.db('oidc_payloads').where({ client_id: app.client.client_id })).toHaveLength(0);
  });

  it('a suspended team’s people get a page that says so and no session, by password, hand-off and the product’s sign-in', async () => {
    const { teamId, email } = await team('org_s2');
    expect((await api('DELETE', '/teams/by-external-id/org_s2')).status).toBe(204);

    const byPassword = await passwordSignIn(new Browser(server.url), email);
    expect(byPassword.status).toBe(403);
    expect(byPassword.text).toMatch(/suspended/);
    expect(sessionCookieOf(byPassword.headers)).toBeUndefined();

    const byHandoff = await new Browser(server.url).request(
      `/dashboard/handoff?token=${await handoff('org_s2', email)}`,
    );
    expect(byHandoff.status).toBe(403);
    expect(byHandoff.text).toMatch(/suspended/);
    expect(sessionCookieOf(byHandoff.headers)).toBeUndefined();

    // The product's OpenID sign-in and the hand-off admit through the same rule (dashboard/federation.ts).
    const admission = await admitExternalPerson(server.keyport, { teamExternalId: 'org_s2', email, role: 'admin' });
    expect(admission).toEqual({ outcome: 'refused', reason: 'team_suspended' });
    expect(await sessionsOf(teamId)).toBe(0);

    // Resumed, the same person signs in again.
    expect((await api('PUT', '/teams/by-external-id/org_s2', { name: 'org_s2', plan: 'pro' })).status).toBe(200);
    expect((await passwordSignIn(new Browser(server.url), email)).status).toBe(303);
    expect(
      (await new Browser(server.url).request(`/dashboard/handoff?token=${await handoff('org_s2', email)}`)).status,
    ).toBe(303);
  });
});
