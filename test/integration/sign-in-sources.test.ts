import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { actionOf, Browser, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';

/**
 * Issue 23 item 7: sign-in throttles the source, not the account. Wrong
 * passwords from one address refuse that address, never the owner's right
 * password from another; a refusal for load (the bcrypt gate full) is no
 * failure. Addresses are varied the way a load balancer would: keyport
 * trusts one proxy and reads the client from X-Forwarded-For.
 */
const PER_PAIR = 5;

describe.each(DATABASES)('sign-in throttles the source, not the account, on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let appId: string;
  const password = 'Correct-Horse-9';

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      trusted_proxies: 1,
      auth_failures: { per_client: 5, per_address: 40, window_seconds: 300 },
    });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const app = await server.keyport.clientService.createApp({ teamId, name: 'sign-in' });
    appId = app.client.client_id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  const from = (address: string) => new Browser(server.url, { 'x-forwarded-for': address });

  /** The dashboard's form, from `address`: each attempt on a fresh page, as a person retrying would. */
  const dashboard = (address: string) => {
    const browser = from(address);
    return async (email: string, pw: string) => {
      const page = await browser.request('/dashboard/signin');
      return browser.request('/dashboard/signin', { form: { csrf: csrfOf(page.text), email, password: pw } });
    };
  };

  /** The app sign-in page of an authorization request, from `address`. */
  const appSignIn = (address: string) => {
    const browser = from(address);
    return async (email: string, pw: string) => {
      const url = new URL('/auth', server.url);
      url.search = new URLSearchParams({
        client_id: appId,
        response_type: 'code',
        redirect_uri: OOB,
        scope: 'openid api:read',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }).toString();
      const page = await browser.follow(url.toString());
      return browser.request(actionOf(page.text), { form: { csrf: csrfOf(page.text), email, password: pw } });
    };
  };

  for (const [surface, signInFrom, signedIn] of [
    ['the dashboard', dashboard, 303],
    ['the app sign-in', appSignIn, 303],
  ] as const) {
    it(`${surface}: an attacker's wrong passwords from one address refuse that address, never the owner from another`, async () => {
      const email = `owner-${surface.length}-${Date.now()}@acme.test`;
      await server.keyport.teamService.addPerson({ teamId, email, password, role: 'admin' });
      const attacker = signInFrom('203.0.113.7');
      const statuses: number[] = [];
      for (let i = 0; i < PER_PAIR + 3; i++) statuses.push((await attacker(email, `wrong-${i}`)).status);
      expect(statuses.slice(0, PER_PAIR)).toEqual(Array(PER_PAIR).fill(401));
      expect(statuses.slice(PER_PAIR)).toEqual([429, 429, 429]);
      // The attacker's address is refused for this account even with the right password…
      const refused = await attacker(email, password);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // …and the owner, from a clean address, signs in.
      expect((await signInFrom('198.51.100.20')(email, password)).status).toBe(signedIn);
    });
  }

  it('wrong passwords for many accounts from one address are refused past the per-address limit', async () => {
    const attacker = dashboard('203.0.113.99');
    const statuses: number[] = [];
    for (let i = 0; i < 42; i++) statuses.push((await attacker(`nobody-${i}@acme.test`, 'nope-nope')).status);
    expect(statuses.slice(0, 40).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(40)).toEqual([429, 429]);
    expect((await dashboard('198.51.100.21')('nobody-0@acme.test', 'nope-nope')).status).toBe(401);
  });

  it('a sign-in refused because the bcrypt gate is full answers 503 with Retry-After, and is not counted as a failure', async () => {
    const email = `busy-${Date.now()}@acme.test`;
    await server.keyport.teamService.addPerson({ teamId, email, password, role: 'admin' });
    const gate = server.keyport.limits.bcrypt;
    // Fill the gate: every slot busy, every queue place taken (8 per source, 64 in all).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders: Promise<unknown>[] = [];
    for (let i = 0; i < (Number(process.env.UV_THREADPOOL_SIZE) || 4); i++) holders.push(gate.run('hold', () => held));
    for (let i = 0; i < 64; i++) holders.push(gate.run(`hold-${Math.floor(i / 8)}`, () => held));
    expect(gate.waiting).toBe(64);
    const owner = dashboard('198.51.100.30');
    try {
      for (let i = 0; i < PER_PAIR + 2; i++) {
        const busy = await owner(email, password);
        expect(busy.status).toBe(503);
        expect(busy.headers.get('retry-after')).toBe('1');
      }
    } finally {
      release();
      await Promise.all(holders);
    }
    // None of those counted: the right password from the same address signs in.
    expect((await owner(email, password)).status).toBe(303);
  });
});
