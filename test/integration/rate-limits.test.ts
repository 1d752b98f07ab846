import { manualClock } from '../../src/clock.js';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

// keyport's clock stands still: a fixed budget window ending between a test's calls would let a call through, or refuse one.
const pinnedClock = manualClock();

const OPERATOR = 'x'.repeat(40);
const settings = {
  admin_token: OPERATOR,
  plans: {
    pro: { api_access: true, max_keys: 50, rate_limits: [6, 100, 1000] },
    big: { api_access: true, max_keys: 50, rate_limits: [40, 100, 1000] },
  },
  resource_server_rate_limits: [4, 100, 1000],
  auth_failures: { per_client: 5, per_address: 12, window_seconds: 300 },
};

/** A POST from a chosen loopback source address (127.0.0.0/8 is all loopback on Linux). */
function postFrom(localAddress: string, url: string, form: Record<string, string>, authorization: string) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = httpRequest(
      url,
      {
        method: 'POST',
        localAddress,
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(DATABASES)('rate limits and brute-force protection on $name', (database) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let bigTeam: number;

  const newKey = async (environment = 'prod', team = teamId) => {
    const created = await server.keyport.clientService.createServiceAccount({
      teamId: team,
      environment,
      scopes: ['api:read', 'keys:manage'],
    });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const token = (key: { id: string; secret: string }, base = server.url, scope = 'api:read') =>
    postForm(
      `${base}/token`,
      { grant_type: 'client_credentials', scope },
      { authorization: basic(key.id, key.secret) },
    );

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, settings, { clock: pinnedClock });
    second = await startServer(created.url, { ...settings, keys_dir: server.config.keysDir }, { clock: pinnedClock });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Pro', plan: 'pro' })).id;
    bigTeam = (await server.keyport.teamService.createTeam({ name: 'Big', plan: 'big' })).id;
  });

  beforeEach(async () => {
    // Each test starts with fresh counters (all tests come from 127.0.0.1).
    await server.keyport.db('rate_limits').delete();
    await server.keyport.db('plan_counters').delete();
    // Counters cleared by hand: the processes' remembered verdicts (up to a second old) go too.
    for (const s of [server, second]) s.keyport.limits.failures.forget();
  });

  afterAll(async () => {
    await second.close();
    await server.close();
    await drop();
  });

  describe('per-plan budgets', () => {
    it('every token answer carries the tightest window, Remaining strictly decreasing; over the limit: 429 and no token', async () => {
      const key = await newKey();
      const remaining: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await token(key);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBe('6');
        const reset = Number(res.headers.get('x-ratelimit-reset'));
        // keyport's clock is pinned when this file loads; the reset is in its time, not the wall's.
        expect(reset).toBeGreaterThan(pinnedClock.now() / 1000);
        expect(reset).toBeLessThanOrEqual(Math.ceil(pinnedClock.now() / 1000) + 60);
        remaining.push(Number(res.headers.get('x-ratelimit-remaining')));
      }
      expect(remaining).toEqual([5, 4, 3, 2, 1, 0]);

      const issuedBefore = await server.keyport
        .db('oidc_payloads')
        .where({ type: 'ClientCredentials' })
        .count({ n: '*' });
      const refused = await token(key);
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(Number(refused.headers.get('retry-after'))).toBe(refused.body.retry_after);
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(await server.keyport.db('oidc_payloads').where({ type: 'ClientCredentials' }).count({ n: '*' })).toEqual(
        issuedBefore,
      );
    });

    it('dev keys get a tenth of their plan’s budget', async () => {
      const key = await newKey('dev', bigTeam);
      const first = await token(key);
      expect(first.headers.get('x-ratelimit-limit')).toBe('4');
    });

    it('regenerating a key does not reset its counters', async () => {
      const key = await newKey();
      for (let i = 0; i < 6; i++) await token(key);
      const { clientSecret } = await server.keyport.clientService.regenerateSecret(key.id, {});
      expect((await token({ id: key.id, secret: clientSecret! })).status).toBe(429);
    });

    it('counters are shared by every process on the database: N/2 on each, then one more is 429', async () => {
      const key = await newKey();
      for (let i = 0; i < 3; i++) expect((await token(key, server.url)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await token(key, second.url)).status).toBe(200);
      expect((await token(key, second.url)).status).toBe(429);
      expect((await token(key, server.url)).status).toBe(429);
    });

    it('concurrent requests on two processes never get more than the limit, however they are batched', async () => {
      const key = await newKey();
      const answers = await Promise.all(
        Array.from({ length: 14 }, (_, i) => token(key, i % 2 ? second.url : server.url)),
      );
      const granted = answers.filter((r) => r.status === 200);
      expect(answers.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      // Every request gets its own place in the count (SQLite: upsert … RETURNING; MySQL: the
      // upsert and its read-back in one transaction), so exactly the limit, on both databases.
      expect(granted.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('introspection counts against the introspecting client', async () => {
      const rs = await server.keyport.clientService.createResourceServer({ name: 'api' });
      const key = await newKey('prod', bigTeam);
      const access = (await token(key)).body.access_token as string;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (
            await postForm(
              `${server.url}/token/introspection`,
              { token: access },
              { authorization: basic(rs.client.client_id, rs.clientSecret!) },
            )
          ).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      // The token's owner was not charged for those introspections.
      expect((await token(key)).headers.get('x-ratelimit-remaining')).toBe('38');
    });

    it('the admin API counts a team’s token against its client, with the same headers and 429', async () => {
      const key = await newKey();
      const manage = (await token(key, server.url, 'keys:manage')).body.access_token as string;
      const answers = [];
      for (let i = 0; i < 6; i++) {
        answers.push(
          await fetch(`${server.url}/api/teams/${teamId}/clients?limit=1`, {
            headers: { authorization: `Bearer ${manage}` },
          }),
        );
      }
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
      expect(answers[4]!.headers.get('x-ratelimit-remaining')).toBe('0');
      const body = (await answers[5]!.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
      expect(answers[5]!.headers.get('retry-after')).toBe(String(body.retry_after));
    });
  });

  describe('brute force', () => {
    it('wrong secrets for a client are throttled apart from its budget, before bcrypt, and the throttle expires', async () => {
      const key = await newKey();
      for (let i = 0; i < 5; i++) expect((await token({ id: key.id, secret: 'wrong-secret' })).status).toBe(401);
      const throttled = await token({ id: key.id, secret: 'wrong-secret' });
      expect(throttled.status).toBe(429);
      expect(throttled.body).toEqual({ error: 'rate_limit_exceeded', retry_after: expect.any(Number) });
      // The owner is throttled too while it lasts (no bcrypt runs for this client_id)…
      expect((await token(key)).status).toBe(429);
      // …and once the window has passed (moved into the past, not waited for), the budget is untouched.
      await server.keyport.db('rate_limits').where('key', 'like', 'authfail%').update({ expire: 1 });
      const ok = await token(key);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-remaining')).toBe('5');
    });

    it('a process that remembered a client as clean still reads the counters before it runs bcrypt', async () => {
      const key = await newKey();
      // The second process verifies the secret and remembers the client as clean…
      expect((await token(key, second.url)).status).toBe(200);
      // …then wrong secrets on the first process push the client over its threshold.
      for (let i = 0; i < 5; i++)
        expect((await token({ id: key.id, secret: 'wrong-secret' }, server.url)).status).toBe(401);
      const checks = second.keyport.limits.bcrypt.started;
      const guess = await token({ id: key.id, secret: 'another-guess' }, second.url);
      expect(guess.status).toBe(429);
      expect(second.keyport.limits.bcrypt.started).toBe(checks);
    });

    it('failures are counted per source address too: unknown client ids from one address get 429', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 13; i++) statuses.push((await token({ id: `nobody${i}`, secret: 'x' })).status);
      expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
      expect(statuses[12]).toBe(429);
    });

    it('failed sign-ins count per source address too', async () => {
      const { Browser, actionOf, csrfOf, pkce, OOB } = await import('../helpers/auth-flow.js');
      const app = await server.keyport.clientService.createApp({ teamId, name: 'app' });
      const browser = new Browser(server.url);
      const url = new URL('/auth', server.url);
      for (const [k, v] of Object.entries({
        client_id: app.client.client_id,
        response_type: 'code',
        redirect_uri: OOB,
        scope: 'api:read',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }))
        url.searchParams.set(k, v);
      const login = await browser.follow(url.toString());
      const statuses: number[] = [];
      // A different email each time: the per-email slow-down never triggers, the per-address throttle does.
      for (let i = 0; i < 13; i++)
        statuses.push(
          (
            await browser.request(actionOf(login.text), {
              form: { csrf: csrfOf(login.text), email: `guess${i}@x.test`, password: 'nope-nope' },
            })
          ).status,
        );
      expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
      expect(statuses[12]).toBe(429);
    });

    it('a client with the right secret keeps getting tokens while another address floods wrong secrets', async () => {
      const victim = await newKey('prod', bigTeam);
      // Wrong secrets for real clients: each one costs a bcrypt check until the throttles stop them.
      const targets = await Promise.all(Array.from({ length: 8 }, () => newKey('prod', bigTeam)));
      const flood = Array.from({ length: 100 }, (_, i) =>
        postFrom(
          '127.0.0.2',
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          basic(targets[i % 8]!.id, `wrong-${i}`),
        ),
      );
      const legit = [];
      for (let i = 0; i < 5; i++)
        legit.push(
          await postFrom(
            '127.0.0.1',
            `${server.url}/token`,
            { grant_type: 'client_credentials', scope: 'api:read' },
            basic(victim.id, victim.secret),
          ),
        );
      const flooded = await Promise.all(flood);
      expect(legit.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(flooded.some((r) => r.status === 429)).toBe(true);
    });
  });
});
