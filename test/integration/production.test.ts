import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb } from '../../src/persistence/sql/knex.js';
import { DATABASES } from '../helpers/databases.js';
import { authorizeThroughPages, Browser, codeOf, OOB, pkce } from '../helpers/auth-flow.js';
import { CLI, freePort, runCli } from '../helpers/cli.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const NEWER_MIGRATION = '29991231000000_from_a_newer_keyport';

/** `keyport serve` as a child process, its stdout and stderr captured; resolves once the port answers. */
async function serveProcess(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${env.PORT}`;
  // Polled until it answers (or the process exits): no fixed sleep.
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${output.stderr}`);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    },
    { timeout: 20_000, interval: 50 },
  );
  return { child, output, exit, base };
}

describe.each(DATABASES)('probes and metrics on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let key: { id: string; secret: string };
  const METRICS_TOKEN = 'm'.repeat(40);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { metrics_token: METRICS_TOKEN });
    const team = await server.keyport.teamService.createTeam({ name: 'Ops', plan: 'pro' });
    const sa = await server.keyport.clientService.createServiceAccount({ teamId: team.id, scopes: ['api:read'] });
    key = { id: sa.client.client_id, secret: sa.clientSecret! };
  });
  afterAll(async () => {
    await server.close();
    await drop();
  });

  const metrics = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };

  it('GET /healthz is 200; GET /readyz is 200 while the database answers with this code’s migrations', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('GET /readyz is 503 with the reason once the database was migrated by a newer keyport', async () => {
    await server.keyport
      .db('keyport_migrations')
      .insert({ name: NEWER_MIGRATION, batch: 99, migration_time: new Date() });
    try {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'not_ready', reason: 'database was migrated by a newer keyport' });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.keyport.db('keyport_migrations').where({ name: NEWER_MIGRATION }).delete();
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('GET /metrics needs the metrics token when one is configured', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${'x'.repeat(40)}` } })).status,
    ).toBe(401);
    expect(await metrics()).toMatch(/^# HELP /m);
  });

  it('counts requests, grants by outcome, authentication failures by reason, bcrypt checks and the pool', async () => {
    const before = await metrics();
    const grant = 'keyport_token_grants_total{grant_type="client_credentials",outcome="success"}';
    const invalid = 'keyport_token_grants_total{grant_type="client_credentials",outcome="invalid_client"}';
    const wrongSecret = 'keyport_client_auth_failures_total{reason="wrong_secret"}';
    const requests = 'keyport_http_requests_total{route="oidc:token",method="POST",status="200"}';

    for (let i = 0; i < 3; i++)
      expect(
        (
          await postForm(
            `${server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(key.id, key.secret) },
          )
        ).status,
      ).toBe(200);
    expect(
      (
        await postForm(
          `${server.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(key.id, 'not-the-secret') },
        )
      ).status,
    ).toBe(401);

    const after = await metrics();
    expect(value(after, grant) - value(before, grant)).toBe(3);
    expect(value(after, requests) - value(before, requests)).toBe(3);
    expect(value(after, invalid) - value(before, invalid)).toBe(1);
    expect(value(after, wrongSecret) - value(before, wrongSecret)).toBe(1);
    // The right secret, generated by keyport, is proven by its digest: only the wrong one costs a bcrypt check.
    expect(value(after, 'keyport_bcrypt_checks_total') - value(before, 'keyport_bcrypt_checks_total')).toBe(1);
    expect(after).toMatch(/^keyport_db_pool_connections\{state="free"\} \d+$/m);
    expect(after).toMatch(/^keyport_bcrypt_waiting 0$/m);
    expect(after).toMatch(/^keyport_http_request_duration_seconds_bucket\{[^}]*route="oidc:token"[^}]*\} \d+$/m);
  });

  it('a grant type the client makes up is counted as "other": clients cannot create metric series', async () => {
    const series = 'keyport_token_grants_total{grant_type="other",outcome="unsupported_grant_type"}';
    const before = value(await metrics(), series);
    const res = await postForm(
      `${server.url}/token`,
      { grant_type: 'made-up-grant-7f3a' },
      { authorization: basic(key.id, key.secret) },
    );
    expect(res.status).toBe(400);
    const after = await metrics();
    expect(value(after, series) - before).toBe(1);
    expect(after).not.toContain('made-up-grant-7f3a');
  });

  it('counts 429s by reason', async () => {
    const reason = 'keyport_rate_limit_rejections_total{reason="auth_failures"}';
    const before = value(await metrics(), reason);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push(
        (
          await postForm(
            `${server.url}/token`,
            { grant_type: 'client_credentials' },
            { authorization: basic(key.id, `guess-${i}`) },
          )
        ).status,
      );
    const refused = statuses.filter((s) => s === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect(value(await metrics(), reason) - before).toBe(refused);
  });

  it('behind a trusted proxy the client is the address the proxy appended, not one the client wrote', async () => {
    const created = await database.create();
    const proxied = await startServer(created.url, {
      trusted_proxies: 1,
      auth_failures: { per_client: 50, per_address: 3, window_seconds: 300 },
    });
    try {
      const attemptFrom = (forwardedFor: string) =>
        postForm(
          `${proxied.url}/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic('nobody', 'x'), 'x-forwarded-for': forwardedFor },
        );
      // Three failures from 203.0.113.7 (behind a forged first hop each time) throttle that address…
      for (let i = 0; i < 3; i++) expect((await attemptFrom(`10.9.9.${i}, 203.0.113.7`)).status).toBe(401);
      expect((await attemptFrom('10.0.0.1, 203.0.113.7')).status).toBe(429);
      // …and no other client behind the same proxy.
      expect((await attemptFrom('198.51.100.20')).status).toBe(401);
    } finally {
      await proxied.close();
      await created.drop();
    }
  });

  it('GET /readyz is 503 when the database does not answer', async () => {
    const created = await database.create();
    const other = await startServer(created.url);
    await other.keyport.db.destroy();
    try {
      const res = await fetch(`${other.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reason: string }).reason).toMatch(/^database unreachable/);
      expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
    } finally {
      await other.close().catch(() => undefined);
      await created.drop();
    }
  });
});

describe('request logs', () => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  it('one JSON line per request, with its id; no secret, token, assertion, password, cookie or Authorization header ever appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-logs-'));
    const port = await freePort();
    const operator = `op-${randomBytes(24).toString('hex')}`;
    // The browser below follows redirects to the issuer, so the issuer is the address it uses.
    const env = {
      PATH: process.env.PATH,
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_ADMIN_TOKEN: operator,
      KEYPORT_WORKERS: '1',
    };
    const team = JSON.parse((await runCli(env, 'teamadd', '-name', 'L', '-plan', 'pro', '-json')).stdout);
    const sa = JSON.parse((await runCli(env, 'serviceaccountadd', '-team', String(team.team_id), '-json')).stdout);
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    await runCli(env, 'useradd', '-team', String(team.team_id), '-email', 'dev@logs.test', '-password', password);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = join(dir, 'jwt.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    const jwtClient = JSON.parse(
      (await runCli(env, 'serviceaccountadd', '-team', String(team.team_id), '-public-key', pem, '-json')).stdout,
    );
    const app = JSON.parse((await runCli(env, 'appadd', '-team', String(team.team_id), '-name', 'A', '-json')).stdout);

    const served = await serveProcess(env);
    child = served.child;
    const base = served.base;
    const secrets: string[] = [sa.client_secret, operator, password, app.client_secret];

    // client_secret_basic, with a request id of ours
    const tokenRes = await postForm(
      `${base}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(sa.client_id, sa.client_secret), 'x-request-id': 'req-from-the-lb-1' },
    );
    expect(tokenRes.status).toBe(200);
    expect(tokenRes.headers.get('x-request-id')).toBe('req-from-the-lb-1');
    const access = tokenRes.body.access_token as string;
    secrets.push(access);
    // client_secret_post, a wrong secret, and a token in a body and in a bearer header
    await postForm(`${base}/token`, {
      grant_type: 'client_credentials',
      client_id: sa.client_id,
      client_secret: sa.client_secret,
    });
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    secrets.push(wrong);
    await postForm(
      `${base}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(sa.client_id, wrong) },
    );
    await postForm(
      `${base}/token/introspection`,
      { token: access },
      { authorization: basic(sa.client_id, sa.client_secret) },
    );
    await fetch(`${base}/api/teams/${team.team_id}/clients`, {
      headers: { authorization: `Bearer ${access}`, cookie: `_session=${access}` },
    });
    await fetch(`${base}/api/teams/${team.team_id}/clients`, { headers: { authorization: `Bearer ${operator}` } });
    // private_key_jwt
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(jwtClient.client_id)
      .setSubject(jwtClient.client_id)
      .setAudience(base)
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'RS256'));
    secrets.push(assertion);
    await postForm(`${base}/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    // a sign-in with its password, and a code exchanged with its verifier
    const { verifier, challenge } = pkce();
    secrets.push(verifier);
    const url = new URL('/auth', base);
    for (const [k, v] of Object.entries({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: OOB,
      scope: 'api:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    const { done } = await authorizeThroughPages(new Browser(base), url.toString(), 'dev@logs.test', password);
    const code = codeOf(done.text)!;
    secrets.push(code);
    const exchanged = await postForm(
      `${base}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.client_id, app.client_secret) },
    );
    expect(exchanged.status).toBe(200);
    secrets.push(exchanged.body.access_token as string, exchanged.body.refresh_token as string);
    // a secret in a query string
    await fetch(`${base}/auth?client_id=${app.client_id}&client_secret=${app.client_secret}&code_verifier=${verifier}`);

    const stop = served.exit;
    child.kill('SIGTERM');
    expect(await stop).toBe(0);
    child = undefined;

    const everything = served.output.stdout + served.output.stderr;
    for (const secret of secrets) expect(everything, `a secret appeared in the logs`).not.toContain(secret);
    expect(everything).not.toMatch(/"authorization"|"cookie"|Bearer |Basic /i);

    const lines = served.output.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(12);
    const first = requests.find((l) => l.request_id === 'req-from-the-lb-1')!;
    expect(first).toMatchObject({
      level: 'info',
      method: 'POST',
      route: 'oidc:token',
      status: 200,
      client_id: sa.client_id,
      address: expect.stringMatching(/127\.0\.0\.1/),
    });
    expect(typeof first.duration_ms).toBe('number');
    expect(typeof first.time).toBe('string');
    expect(requests.find((l) => l.route === '/api/teams/:team/clients' && l.status === 200)).toBeDefined();
    expect(requests.every((l) => typeof l.request_id === 'string' && (l.request_id as string).length > 0)).toBe(true);
    // A refused client authentication says why, from a closed set (issue 14, item 3).
    expect(requests.find((l) => l.route === 'oidc:token' && l.status === 401)).toMatchObject({
      error: 'invalid_client',
      reason: 'wrong_secret',
    });
  });

  it('LOG_LEVEL=warn leaves request lines out; a bad LOG_LEVEL is refused naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-logs-'));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_WORKERS: '1',
      LOG_LEVEL: 'warn',
    };
    const served = await serveProcess(env);
    child = served.child;
    await fetch(`${served.base}/.well-known/openid-configuration`);
    child.kill('SIGTERM');
    expect(await served.exit).toBe(0);
    child = undefined;
    expect(served.output.stdout).not.toMatch(/"msg":"request"/);

    const bad = await runCli({ ...env, LOG_LEVEL: 'loud' }, 'serve');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/log_level \(or LOG_LEVEL\)/);
  });
});

describe.each(DATABASES)('graceful shutdown on $name', (database) => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  /** One request on a fresh connection; reports what the client saw. */
  function attempt(base: string, authorization: string) {
    return new Promise<{ outcome: 'answered' | 'refused' | 'cut'; status?: number; detail?: string }>((resolve) => {
      const body = 'grant_type=client_credentials';
      let responded = false;
      const req = httpRequest(
        `${base}/token`,
        {
          method: 'POST',
          agent: false,
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': body.length,
          },
        },
        (res) => {
          responded = true;
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(text) as { access_token?: string };
              resolve(
                res.statusCode === 200 && parsed.access_token
                  ? { outcome: 'answered', status: 200 }
                  : { outcome: 'cut', status: res.statusCode, detail: text },
              );
            } catch {
              resolve({ outcome: 'cut', status: res.statusCode, detail: text });
            }
          });
          res.on('error', (err) => resolve({ outcome: 'cut', detail: err.message }));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // Refused, or reset before any byte of an answer: the request never reached keyport.
        if (!responded && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET'))
          resolve({ outcome: 'refused', detail: err.code });
        else resolve({ outcome: 'cut', detail: `${err.code} ${err.message}` });
      });
      req.end(body);
    });
  }

  /** A keyport served as operators run it, on a fresh database, with one service account that answered once. */
  async function serving(extra: Record<string, string>) {
    const { url, drop } = await database.create();
    const dir = mkdtempSync(join(tmpdir(), 'keyport-stop-'));
    const env = {
      PATH: process.env.PATH,
      PORT: String(await freePort()),
      DATABASE_URL: url,
      KEYS_DIR: join(dir, 'keys'),
      ...extra,
    };
    const team = JSON.parse((await runCli(env, 'teamadd', '-name', 'S', '-plan', 'enterprise', '-json')).stdout);
    const sa = JSON.parse((await runCli(env, 'serviceaccountadd', '-team', String(team.team_id), '-json')).stdout);
    const served = await serveProcess(env);
    child = served.child;
    const authorization = basic(sa.client_id, sa.client_secret);
    expect((await attempt(served.base, authorization)).outcome).toBe('answered');
    return { url, drop, env, served, authorization, sa };
  }

  it('with shutdown_delay_seconds, /readyz answers 503 at once and a burst of new connections gets only whole answers', async () => {
    const { drop, served, authorization } = await serving({
      KEYPORT_WORKERS: '2',
      KEYPORT_SHUTDOWN_DELAY_SECONDS: '2',
    });

    const results: Array<Awaited<ReturnType<typeof attempt>>> = [];
    let readyAfterSignal: number | undefined;
    const worker = async () => {
      for (let i = 0; i < 25; i++) {
        results.push(await attempt(served.base, authorization));
        if (readyAfterSignal === undefined && results.length >= 40) {
          readyAfterSignal = 0;
          child!.kill('SIGTERM');
          // The signal reaches the primary, then each worker: ask until one answers 503 (while still serving).
          for (let tries = 0; tries < 40 && readyAfterSignal !== 503; tries++) {
            readyAfterSignal = (await fetch(`${served.base}/readyz`, { headers: { connection: 'close' } })).status;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(readyAfterSignal).toBe(503);
    expect(results).toHaveLength(200);
    expect(results.filter((r) => r.outcome !== 'answered')).toEqual([]);
    expect(await served.exit).toBe(0);
    child = undefined;
    await drop();
  });

  it("SIGTERM ends the guards' event streams: an open stream never holds the stop until its deadline", async () => {
    const { drop, served, env } = await serving({ KEYPORT_WORKERS: '1', LOG_LEVEL: 'warn' });
    const rs = JSON.parse((await runCli(env, 'resourceserveradd', '-name', 'api', '-json')).stdout);
    const res = await fetch(`${served.base}/keys/events`, {
      headers: { authorization: basic(rs.client_id, rs.client_secret) },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain(': beat');
    child!.kill('SIGTERM');
    // The stream ends cleanly (a guard reconnects to another process), and the stop finishes on its own.
    let ended = false;
    while (!ended) ended = (await reader.read()).done;
    expect(await served.exit).toBe(0);
    child = undefined;
    expect(served.output.stdout).not.toMatch(/shutdown deadline reached/);
    await drop();
  });

  it('SIGTERM during a burst: every request is answered whole or refused, usage is flushed, exit 0', async () => {
    const { url, drop, served, authorization, sa } = await serving({ KEYPORT_WORKERS: '1' });

    const results: Array<Awaited<ReturnType<typeof attempt>>> = [];
    let signalled = false;
    const worker = async () => {
      for (let i = 0; i < 25; i++) {
        const result = await attempt(served.base, authorization);
        results.push(result);
        if (!signalled && results.length >= 40) {
          signalled = true;
          child!.kill('SIGTERM');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(await served.exit).toBe(0);
    child = undefined;

    const cut = results.filter((r) => r.outcome === 'cut');
    expect(cut, JSON.stringify(cut.slice(0, 3))).toEqual([]);
    const answered = results.filter((r) => r.outcome === 'answered').length;
    expect(answered).toBeGreaterThanOrEqual(40);
    expect(results.filter((r) => r.outcome === 'refused').length).toBeGreaterThan(0);

    // Nothing was done without its answer arriving, and the batched usage reached the database.
    const db = createDb(url);
    try {
      const counted = (await db('oidc_payloads').where({ type: 'ClientCredentials' }).count({ n: '*' })) as Array<{
        n: number | string;
      }>;
      expect(Number(counted[0]!.n)).toBe(answered + 1);
      const row = await db('o_auth_clients').where({ client_id: sa.client_id }).first();
      expect(Number(row.usage_count)).toBe(answered + 1);
    } finally {
      await db.destroy();
      await drop();
    }
  });
});

describe('signing keys', () => {
  let a: TestServer;
  let b: TestServer;
  let env: NodeJS.ProcessEnv;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await DATABASES[0]!.create();
    drop = created.drop;
    a = await startServer(created.url, { keys_reload_seconds: 0.1 });
    b = await startServer(created.url, { keys_dir: a.config.keysDir, keys_reload_seconds: 0.1 });
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: a.config.keysDir };
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await drop();
  });

  const published = async (server: TestServer) =>
    ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

  it('rotate: every process signs with the new key and still publishes the old one, without a restart', async () => {
    const [old] = await published(a);
    expect(await published(b)).toEqual([old]);
    const rotated = await runCli(env, 'signingkeys', 'rotate', '-json');
    expect(rotated.code, rotated.stderr).toBe(0);
    const { kid } = JSON.parse(rotated.stdout) as { kid: string };

    // Newest first: the provider signs with the first key of its alg.
    for (const server of [a, b])
      await vi.waitFor(async () => expect(await published(server)).toEqual([kid, old]), {
        timeout: 5000,
        interval: 50,
      });
    // Built with the new keys, not restarted: the same process, the same database pool.
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
  });

  it('retire: the old key leaves every JWKS; the key signing now and unknown kids are refused', async () => {
    const [current, old] = await published(a);
    const newest = await runCli(env, 'signingkeys', 'retire', '-kid', current!);
    expect(newest.code).toBe(1);
    expect(newest.stderr).toMatch(/is the key signing now/);
    const unknown = await runCli(env, 'signingkeys', 'retire', '-kid', 'no-such-kid');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no signing key has kid no-such-kid/);

    const retired = await runCli(env, 'signingkeys', 'retire', '-kid', old!, '-json');
    expect(retired.code, retired.stderr).toBe(0);
    expect(JSON.parse(retired.stdout)).toEqual({ retired: old, remaining: [current] });
    for (const server of [a, b])
      await vi.waitFor(async () => expect(await published(server)).toEqual([current]), { timeout: 5000, interval: 50 });
    const listed = JSON.parse((await runCli(env, 'signingkeys', 'list', '-json')).stdout);
    expect(listed).toEqual({ signing: current, published: [current] });
  });
});

describe('configuration', () => {
  it('`keyport config` prints the effective configuration, file then environment, with secrets masked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-conf-'));
    const conf = join(dir, 'keyport.json');
    writeFileSync(
      conf,
      JSON.stringify({
        port: 4100,
        metrics_token: 'secret-metrics-token-0123456789abcdef',
        access_token_ttl_seconds: 600,
      }),
    );
    const admin = `admin-${randomBytes(20).toString('hex')}`;
    const result = await runCli(
      {
        PATH: process.env.PATH,
        PORT: '4200',
        KEYPORT_ADMIN_TOKEN: admin,
        DATABASE_URL: 'mysql://keyport:hunter2-db-password@db.internal:3306/keyport',
      },
      'config',
      '-conf',
      conf,
    );
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({
      port: 4200,
      access_token_ttl_seconds: 600,
      admin_token: '********',
      metrics_token: '********',
      database_url: 'mysql://keyport:********@db.internal:3306/keyport',
    });
    expect(result.stdout).not.toContain(admin);
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain('secret-metrics-token');
  });

  it('a configuration with several bad keys is refused with one line naming each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-conf-'));
    const conf = join(dir, 'keyport.json');
    writeFileSync(conf, JSON.stringify({ port: 'eighty', shutdown_timeout_seconds: -1, colour: 'blue' }));
    const result = await runCli({ PATH: process.env.PATH }, 'config', '-conf', conf);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/port \(or PORT\):/);
    expect(result.stderr).toMatch(/shutdown_timeout_seconds:/);
    expect(result.stderr).toMatch(/colour/);
  });
});

describe.each(DATABASES)('schema version on $name', (database) => {
  it('`serve` refuses a database migrated by a newer keyport, and changes nothing', async () => {
    const { url, drop } = await database.create();
    const dir = mkdtempSync(join(tmpdir(), 'keyport-ahead-'));
    const env = {
      PATH: process.env.PATH,
      PORT: String(await freePort()),
      DATABASE_URL: url,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_WORKERS: '1',
    };
    expect((await runCli(env, 'migrate')).code).toBe(0);
    const db = createDb(url);
    try {
      await db('keyport_migrations').insert({ name: NEWER_MIGRATION, batch: 99, migration_time: new Date() });
      const before = await db('keyport_migrations').count({ n: '*' });
      const result = await runCli(env, 'serve');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /migrated by a newer keyport \(unknown migrations: 29991231000000_from_a_newer_keyport\); refusing to start/,
      );
      expect(await db('keyport_migrations').count({ n: '*' })).toEqual(before);
    } finally {
      await db.destroy();
      await drop();
    }
  });
});
