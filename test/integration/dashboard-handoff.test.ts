import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

const PRODUCT = 'https://product.example';

/** The product's backend: signs a hand-off as the README's example does. */
async function handoff(
  key: CryptoKey,
  audience: string,
  claims: Record<string, unknown>,
  { alg = 'ES256', iss = PRODUCT, lifetime = 60, issuedAgo = 0, kid = 'product-1' } = {},
) {
  const iat = Math.floor(Date.now() / 1000) - issuedAgo;
  return new SignJWT({ team: 'acme-ext', email: 'ada@handoff.test', role: 'admin', ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(iss)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .setJti(randomUUID())
    .sign(key);
}

const sessionCookieOf = (headers: Headers) => headers.getSetCookie().find((c) => c.startsWith('kp_dashboard='));

/** GET /dashboard/handoff (issue 26 item 2): the product's signed word opens a session; anything else opens none. */
describe.each(DATABASES)('the signed hand-off to the dashboard on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let productKey: CryptoKey;
  let audience: string;
  let teamId: number;

  const open = (token: string, browser = new Browser(server.url)) =>
    browser.request(`/dashboard/handoff?token=${encodeURIComponent(token)}`);
  const sign = (claims: Record<string, unknown> = {}, options: Parameters<typeof handoff>[3] = {}) =>
    handoff(productKey, audience, claims, options);
  const sessions = async () => Number((await server.keyport.db('dashboard_sessions').count({ n: '*' }))[0]!.n);

  /** A refusal: the status, a page that says why, and no session anywhere. */
  async function expectRefused(token: string, status: number, words: RegExp) {
    const before = await sessions();
    const res = await open(token);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toMatch(words);
    expect(sessionCookieOf(res.headers)).toBeUndefined();
    expect(await sessions()).toBe(before);
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const pair = await generateKeyPair('ES256', { extractable: true });
    productKey = pair.privateKey;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-handoff-'));
    const jwks = join(dir, 'product.jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'product-1' }] }));
    server = await startServer(created.url, {
      plans: { pro: { api_access: true, max_keys: 100 } },
      handoff_keys: jwks,
      handoff_issuer: PRODUCT,
    });
    audience = `${server.url}/dashboard`;
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.externalTeams.setExternalId(teamId, 'acme-ext');
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a valid hand-off opens a session in the named team with the given role, for a person with no password', async () => {
    const browser = new Browser(server.url);
    const res = await open(await sign({ email: 'Ada@Handoff.test' }), browser);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/keys');
    expect(sessionCookieOf(res.headers)).toMatch(/HttpOnly/i);
    const page = await browser.request('/dashboard/keys');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign out ada@handoff.test');
    expect(page.text).toContain('id="new-key"');
    const user = await server.keyport.db('users').where({ email: 'ada@handoff.test' }).first();
    expect(user.password_hash).toBeNull();
    const session = await server.keyport.db('dashboard_sessions').where({ user_id: user.id }).first();
    expect(session.team_id).toBe(teamId);
    expect(await server.keyport.teams.findMembership(teamId, user.id)).toMatchObject({ role: 'admin' });
  });

  it('a person made by a hand-off cannot sign in with a password (their hash is null)', async () => {
    await open(await sign({ email: 'nopass@handoff.test' }));
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    for (const password of ['', 'anything']) {
      const res = await browser.request('/dashboard/signin', {
        form: { csrf: csrfOf(form.text), email: 'nopass@handoff.test', password },
      });
      expect([400, 401]).toContain(res.status);
      expect(sessionCookieOf(res.headers)).toBeUndefined();
    }
  });

  it('the role is the product’s at each hand-off: a member made admin is admin at the next one', async () => {
    const email = 'role@handoff.test';
    const first = new Browser(server.url);
    expect((await open(await sign({ email, role: 'member' }), first)).status).toBe(303);
    expect((await first.request('/dashboard/keys')).text).not.toContain('id="new-key"');
    const user = await server.keyport.db('users').where({ email }).first();
    expect(await server.keyport.teams.findMembership(teamId, user.id)).toMatchObject({ role: 'member' });
    const second = new Browser(server.url);
    expect((await open(await sign({ email, role: 'admin' }), second)).status).toBe(303);
    expect(await server.keyport.teams.findMembership(teamId, user.id)).toMatchObject({ role: 'admin' });
    expect((await second.request('/dashboard/keys')).text).toContain('id="new-key"');
    // Audited when the role is given or changes, not at every sign-in.
    expect((await open(await sign({ email, role: 'admin' }))).status).toBe(303);
    const rows = await server.keyport
      .db('audit_events')
      .where({ team_id: teamId, action: 'member.role.change' })
      .orderBy('id');
    const mine = rows.map((r) => JSON.parse(r.details)).filter((d) => d.email === email);
    expect(mine).toEqual([
      { user_id: user.id, email, from: null, to: 'member', by: 'handoff' },
      { user_id: user.id, email, from: 'member', to: 'admin', by: 'handoff' },
    ]);
    // The team's audit page says it in words: joined as a member, then made an admin, by the hand-off.
    const audit = (await second.request('/dashboard/audit')).text;
    expect(audit).toContain(`joined the team as a member (hand-off from the product)`);
    expect(audit).toContain(`made ${email} an admin (hand-off from the product)`);
  });

  it('a replayed hand-off (same jti) is refused with 401 and opens no session', async () => {
    const token = await sign({ email: 'replay@handoff.test' });
    expect((await open(token)).status).toBe(303);
    await expectRefused(token, 401, /used already/);
  });

  it('the same hand-off opened twice at once opens exactly one session', async () => {
    const token = await sign({ email: 'race@handoff.test' });
    const before = await sessions();
    const answers = await Promise.all([open(token), open(token), open(token)]);
    expect(answers.map((a) => a.status).sort()).toEqual([303, 401, 401]);
    expect(await sessions()).toBe(before + 1);
  });

  it('a hand-off signed by another key is refused with 401', async () => {
    const other = await generateKeyPair('ES256');
    await expectRefused(await handoff(other.privateKey, audience, {}), 401, /not signed by a key keyport knows/);
  });

  it('a hand-off with alg none is refused', async () => {
    const [header, payload] = (await sign()).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'product-1' })).toString('base64url')}.${payload}.`;
    expect(header).toBeTruthy();
    await expectRefused(none, 401, /not signed by a key keyport knows/);
  });

  it('a hand-off signed with a shared secret (HS256) is refused with 401', async () => {
    const hs = await handoff(randomBytes(32) as unknown as CryptoKey, audience, {}, { alg: 'HS256' });
    await expectRefused(hs, 401, /not signed by a key keyport knows/);
  });

  it('a hand-off from another issuer is refused with 401', async () => {
    await expectRefused(
      await sign({}, { iss: 'https://evil.example' }),
      401,
      /issued by someone keyport does not accept/,
    );
  });

  it('a hand-off for another audience (keyport’s issuer itself) is refused with 401', async () => {
    await expectRefused(await handoff(productKey, server.url, {}), 401, /meant for another service/);
  });

  it('an expired hand-off is refused with 401', async () => {
    await expectRefused(await sign({}, { issuedAgo: 200, lifetime: 60 }), 401, /expired/);
  });

  it('a hand-off living longer than 120 s is refused with 401', async () => {
    await expectRefused(await sign({}, { lifetime: 121 }), 401, /expire within 120 seconds/);
  });

  it('a hand-off naming an unknown team is refused with 401 and creates nobody', async () => {
    await expectRefused(await sign({ team: 'nobody-ext', email: 'ghost@handoff.test' }), 401, /not linked to any team/);
    expect(await server.keyport.db('users').where({ email: 'ghost@handoff.test' }).first()).toBeUndefined();
  });

  it('a hand-off with a role keyport does not know is refused with 400', async () => {
    await expectRefused(await sign({ role: 'owner', email: 'owner@handoff.test' }), 400, /role keyport does not know/);
    expect(await server.keyport.db('users').where({ email: 'owner@handoff.test' }).first()).toBeUndefined();
  });

  it('a hand-off without a jti, or not a JWT at all, is refused with 400', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const noJti = await new SignJWT({ team: 'acme-ext', email: 'a@handoff.test', role: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: 'product-1' })
      .setIssuer(PRODUCT)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(productKey);
    await expectRefused(noJti, 400, /not a valid hand-off token/);
    await expectRefused('not-a-token', 400, /not a valid hand-off token/);
  });
});

describe('the hand-off key given as a PEM', () => {
  it('a PEM public key in handoff_keys verifies the product’s hand-off', async () => {
    const { url } = await DATABASES[0]!.create();
    const pair = await generateKeyPair('RS256', { extractable: true });
    const server = await startServer(url, { handoff_keys: await exportSPKI(pair.publicKey), handoff_issuer: PRODUCT });
    try {
      const team = await server.keyport.teamService.createTeam({ name: 'Pem', plan: 'pro' });
      await server.keyport.externalTeams.setExternalId(team.id, 'pem-ext');
      const token = await handoff(pair.privateKey, `${server.url}/dashboard`, { team: 'pem-ext' }, { alg: 'RS256' });
      const res = await new Browser(server.url).request(`/dashboard/handoff?token=${token}`);
      expect(res.status).toBe(303);
    } finally {
      await server.close();
    }
  });
});
