import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { generateClientSecret } from '../../src/clients/secrets.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { Browser } from '../helpers/auth-flow.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.js';

const OPERATOR = 'operator-token-for-the-leaked-keys-tests-0123456789';
const PASSWORD = 'Leaked-Keys-Pass-1';
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** A P-256 key pair made here, standing in for one of GitHub's secret-scanning keys. */
function githubKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    id: createHash('sha256').update(der).digest('hex'),
    pem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    privateKey,
  };
}
type GithubKey = ReturnType<typeof githubKey>;

const keyList = (keys: readonly GithubKey[]) =>
  JSON.stringify({
    public_keys: keys.map((k, i) => ({ key_identifier: k.id, key: k.pem, is_current: i === keys.length - 1 })),
  });

/** What GitHub sends: the raw body, signed (ECDSA P-256, SHA-256, DER, base64) with the named key. */
const signed = (key: { id: string; privateKey: KeyObject }, body: string) => ({
  'github-public-key-identifier': key.id,
  'github-public-key-signature': sign('sha256', Buffer.from(body), key.privateKey).toString('base64'),
});

/** The same signature with s replaced by n − s: also valid ECDSA, a different string (malleability). */
function malleated(signatureB64: string): string {
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const der = Buffer.from(signatureB64, 'base64');
  const ieee = (() => {
    let i = 2;
    const int = () => {
      const len = der[i + 1]!;
      const value = der.subarray(i + 2, i + 2 + len);
      i += 2 + len;
      return BigInt(`0x${value.toString('hex')}`);
    };
    return [int(), int()] as const;
  })();
  const [r, s] = [ieee[0], n - ieee[1]];
  const enc = (x: bigint) => {
    let hex = x.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([2, bytes.length]), bytes]);
  };
  const body = Buffer.concat([enc(r), enc(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]).toString('base64');
}

const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Waits until `ready()` holds, each wake on an event of the real receiver or mail server; bounded. */
async function until(ready: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Issue 28 item 4: a key found in public is revoked (or flagged) without
 * waiting for a person, on GitHub's signed report or the operator's; its
 * team's admins are mailed and sent `key.leaked`; the audit log says where;
 * nothing tells a caller which keys exist; nothing unsigned changes anything.
 */
describe.each(DATABASES)('leaked keys on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let smtp: TestSmtpServer;
  let receiver: Server;
  let github: Server;
  let listFetches = 0;
  const published: GithubKey[] = [githubKey()];
  const hooks: Array<{ type: string; data: Record<string, unknown>; raw: string }> = [];
  const endpointSecrets = new Map<string, string>();

  const report = (body: string, headers: Record<string, string>) =>
    fetch(`${server.url}/secret-scanning/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const finding = (token: string, url = 'https://github.com/octocat/hello/blob/abc/config.js') =>
    ({ token, type: 'keyport_api_key', url, source: 'content' }) as const;
  const revokedAt = async (clientId: string) => (await server.keyport.clients.findById(clientId))!.revokedAt;
  const count = async (table: string) =>
    Number(((await server.keyport.db(table).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
  const durableRows = async () =>
    Object.fromEntries(
      await Promise.all(
        ['leak_reports', 'audit_events', 'key_events', 'webhook_deliveries', 'rate_limits', 'o_auth_clients'].map(
          async (t) => [t, await count(t)] as const,
        ),
      ),
    );
  const tokenFor = (clientId: string, secret: string) =>
    postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { authorization: basic(clientId, secret) });

  /** A team with a person admin (mailed), a member (not mailed), a webhook endpoint, and one key. */
  async function seedTeam(name: string) {
    const team = await server.keyport.teamService.createTeam({ name, plan: 'pro' });
    const admin = `admin-${team.id}@${name.toLowerCase()}.example`;
    await server.keyport.teamService.addPerson({ teamId: team.id, email: admin, password: PASSWORD, role: 'admin' });
    await server.keyport.teams.createMember(
      team.id,
      { kind: 'person', email: `member-${team.id}@x.example`, name: 'Bo' },
      'member',
    );
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/${team.id}`;
    const res = await fetch(`${server.url}/api/teams/${team.id}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, events: ['key.leaked', 'key.revoked'] }),
    });
    expect(res.status).toBe(201);
    endpointSecrets.set(String(team.id), ((await res.json()) as { secret: string }).secret);
    const key = await server.keyport.clientService.createServiceAccount({ teamId: team.id, name: `${name}-ci` });
    return { team, admin, clientId: key.client.client_id, secret: key.clientSecret! };
  }

  const eventsOf = async (teamId: number) =>
    (
      (await fetch(`${server.url}/api/teams/${teamId}/events`, {
        headers: { authorization: `Bearer ${OPERATOR}` },
      }).then((r) => r.json())) as {
        data: Array<{ action: string; actor: { type: string; id: string | null }; client_id: string; details: any }>;
      }
    ).data;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    smtp = await startSmtpServer();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const team = req.url!.split('/').pop()!;
        new Webhook(endpointSecrets.get(team)!).verify(raw, req.headers as Record<string, string>);
        hooks.push({ ...(JSON.parse(raw) as { type: string; data: Record<string, unknown> }), raw });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // Stands in for api.github.com/meta/public_keys/secret_scanning.
    github = createServer((_req, res) => {
      listFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(keyList(published));
    });
    await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      webhook_allow_private_addresses: true,
      webhook_poll_ms: 20,
      smtp_url: smtp.url,
      plans: { pro: { api_access: true, max_keys: 50 } },
      github_secret_scanning_keys_url: `http://127.0.0.1:${(github.address() as AddressInfo).port}/meta/public_keys/secret_scanning`,
      github_secret_scanning_keys_refresh_seconds: 0,
    });
  });
  afterAll(async () => {
    await server?.close();
    receiver?.closeAllConnections();
    github?.closeAllConnections();
    await Promise.all(
      [receiver, github].map((s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()))),
    );
    await smtp?.close();
    await drop?.();
  });

  it("GitHub's signed report of a live key: revoked at once, true_positive by hash, audited with the URL, key.leaked sent, the admins mailed", async () => {
    const acme = await seedTeam('Acme');
    expect((await tokenFor(acme.clientId, acme.secret)).status).toBe(200);
    const where = 'https://github.com/octocat/hello/blob/0123abc/.env';
    const body = JSON.stringify([finding(acme.secret, where)]);
    const res = await report(body, signed(published[0]!, body));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    expect(text).not.toContain(acme.secret);
    expect(JSON.parse(text)).toEqual([
      { token_hash: sha256Hex(acme.secret), token_type: 'keyport_api_key', label: 'true_positive' },
    ]);

    expect(await revokedAt(acme.clientId)).not.toBeNull();
    const read = await fetch(`${server.url}/api/teams/${acme.team.id}/clients/${acme.clientId}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    }).then((r) => r.json() as Promise<{ is_valid: boolean; leaked_at?: string }>);
    expect(read).toMatchObject({ is_valid: false, leaked_at: expect.stringMatching(/^\d{4}-/) });
    // The guards are told (a change on GET /keys/events), as for any revocation.
    const changes = (await server.keyport
      .db('key_events')
      .where({ client_id: acme.clientId })
      .count({ n: '*' })) as Array<{
      n: number | string;
    }>;
    expect(Number(changes[0]!.n)).toBe(1);
    const after = await tokenFor(acme.clientId, acme.secret);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error: 'invalid_client' });

    const [leaked] = (await eventsOf(acme.team.id)).filter((e) => e.action === 'client.leaked');
    expect(leaked).toMatchObject({
      client_id: acme.clientId,
      actor: { type: 'scanner', id: 'github' },
      details: { action: 'revoked', scanner: 'github', url: where, source: 'content', type: 'keyport_api_key' },
    });

    await until(() => hooks.some((h) => h.type === 'key.leaked' && h.data.client_id === acme.clientId), 'key.leaked');
    const hook = hooks.find((h) => h.type === 'key.leaked' && h.data.client_id === acme.clientId)!;
    expect(hook.data).toMatchObject({
      team_id: acme.team.id,
      name: 'Acme-ci',
      environment: 'prod',
      action: 'revoked',
      scanner: 'github',
      url: where,
      source: 'content',
    });
    expect(hook.raw).not.toContain(acme.secret);
    await until(() => hooks.some((h) => h.type === 'key.revoked' && h.data.client_id === acme.clientId), 'key.revoked');

    await until(() => smtp.mails.some((m) => m.to.includes(acme.admin)), 'the mail to the admin');
    const mail = smtp.mails.find((m) => m.to.includes(acme.admin))!;
    expect(mail.to).toEqual([acme.admin]);
    expect(mail.subject).toBe('keyport: your key Acme-ci was found in public');
    expect(mail.text).toContain(where);
    expect(mail.text).toContain('REVOKED');
    expect(mail.raw).not.toContain(acme.secret);
  });

  it('unknown, made-up and already revoked keys answer by their form alone, and change nothing', async () => {
    const acme = await seedTeam('Known');
    const revoked = await seedTeam('Gone');
    await server.keyport.clientService.revoke(revoked.clientId);
    const mailsBefore = smtp.mails.length;
    const unknown = generateClientSecret('prod'); // a real key's form, never issued here
    const typo = `${acme.secret.slice(0, -1)}${acme.secret.endsWith('z') ? 'y' : 'z'}`; // checksum broken
    const before = await durableRows();
    const body = JSON.stringify([finding(unknown), finding(revoked.secret), finding(typo), finding('not-a-key')]);
    const res = await report(body, signed(published[0]!, body));
    expect(res.status).toBe(200);
    const labels = (await res.json()) as Array<{ token_hash: string; label: string }>;
    expect(labels.map((l) => l.label)).toEqual(['true_positive', 'true_positive', 'false_positive', 'false_positive']);
    expect(labels.map((l) => l.token_hash)).toEqual([unknown, revoked.secret, typo, 'not-a-key'].map(sha256Hex));
    // Only the signed report itself is remembered (the replay guard): no key, audit row, event or delivery more.
    expect(await durableRows()).toEqual({ ...before, leak_reports: before.leak_reports! + 1 });
    expect(await revokedAt(acme.clientId)).toBeNull();
    expect((await eventsOf(revoked.team.id)).filter((e) => e.action === 'client.leaked')).toEqual([]);

    // A report that does find a key is mailed; the one above was not (it told no one).
    const body2 = JSON.stringify([finding(acme.secret)]);
    expect((await report(body2, signed(published[0]!, body2))).status).toBe(200);
    await until(() => smtp.mails.length > mailsBefore, 'a mail');
    expect(smtp.mails.slice(mailsBefore).map((m) => m.to)).toEqual([[acme.admin]]);
  });

  it('unsigned, wrongly signed, signed by an unknown key, or replayed: refused with a clear error, nothing changes', async () => {
    const acme = await seedTeam('Guarded');
    const body = JSON.stringify([finding(acme.secret)]);
    const good = signed(published[0]!, body);
    const stranger = githubKey();
    const before = await durableRows();
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'must be signed'],
      [{ 'github-public-key-identifier': published[0]!.id }, 'must be signed'],
      [
        { ...good, 'github-public-key-signature': signed(published[0]!, `${body} `)['github-public-key-signature'] },
        'does not verify',
      ],
      [{ ...signed(stranger, body), 'github-public-key-identifier': published[0]!.id }, 'does not verify'],
      [signed(stranger, body), 'names none'],
      [{ ...good, 'github-public-key-identifier': 'not-hex' }, 'not a key identifier'],
      [{ ...good, 'github-public-key-signature': '!!!' }, 'not a base64'],
    ];
    for (const [headers, says] of cases) {
      const res = await report(body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      const answer = (await res.json()) as { error: string; message: string };
      expect(answer.error).toBe('invalid_signature');
      expect(answer.message).toContain(says);
    }
    // The body is not even parsed before its signature holds: junk unsigned is the same 401.
    expect((await report('{not json', {})).status).toBe(401);
    expect(await durableRows()).toEqual(before);
    expect(await revokedAt(acme.clientId)).toBeNull();

    // Signed, but not the array of matches: 400, nothing changes.
    const bad = JSON.stringify({ token: acme.secret });
    const badRes = await report(bad, signed(published[0]!, bad));
    expect(badRes.status).toBe(400);
    expect(await badRes.json()).toMatchObject({ error: 'invalid_request' });
    expect(await durableRows()).toEqual(before);

    // The first delivery acts; the same bytes again (also with the malleated twin of its signature) are a replay.
    expect((await report(body, good)).status).toBe(200);
    const acted = await durableRows();
    for (const headers of [
      good,
      { ...good, 'github-public-key-signature': malleated(good['github-public-key-signature']) },
    ]) {
      const again = await report(body, headers);
      expect(again.status).toBe(409);
      expect(await again.json()).toMatchObject({ error: 'replayed_request' });
    }
    expect(await durableRows()).toEqual(acted);
  });

  it('two copies of one signed report racing: one acts, the other is a replay', async () => {
    const acme = await seedTeam('Raced');
    const body = JSON.stringify([finding(acme.secret, 'https://github.com/octocat/raced/blob/1/x')]);
    const headers = signed(published[0]!, body);
    const before = await count('leak_reports');
    const answers = await Promise.all([report(body, headers), report(body, headers)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await count('leak_reports')).toBe(before + 1);
    expect((await eventsOf(acme.team.id)).filter((e) => e.action === 'client.leaked')).toHaveLength(1);
  });

  it('a team that only flags: the key keeps working, key.leaked says flagged, the mail says it still works', async () => {
    const flagged = await seedTeam('Flagger');
    const unset = await fetch(`${server.url}/api/teams/${flagged.team.id}/leaked-keys`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ignore' }),
    });
    expect(unset.status).toBe(400);
    const set = await fetch(`${server.url}/api/teams/${flagged.team.id}/leaked-keys`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'flag' }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ team_id: flagged.team.id, action: 'flag' });
    expect((await eventsOf(flagged.team.id)).map((e) => e.action)).toContain('team.leaked_keys.change');

    const body = JSON.stringify([finding(flagged.secret, 'https://www.npmjs.com/package/leaky')]);
    const res = await report(body, signed(published[0]!, body));
    expect(res.status).toBe(200);
    expect(((await res.json()) as Array<{ label: string }>)[0]!.label).toBe('true_positive');
    expect(await revokedAt(flagged.clientId)).toBeNull();
    expect((await tokenFor(flagged.clientId, flagged.secret)).status).toBe(200);
    const [leaked] = (await eventsOf(flagged.team.id)).filter((e) => e.action === 'client.leaked');
    expect(leaked!.details).toMatchObject({ action: 'flagged', url: 'https://www.npmjs.com/package/leaky' });
    await until(
      () => hooks.some((h) => h.type === 'key.leaked' && h.data.client_id === flagged.clientId),
      'key.leaked',
    );
    expect(hooks.find((h) => h.type === 'key.leaked' && h.data.client_id === flagged.clientId)!.data.action).toBe(
      'flagged',
    );
    expect(hooks.some((h) => h.type === 'key.revoked' && h.data.client_id === flagged.clientId)).toBe(false);
    await until(() => smtp.mails.some((m) => m.to.includes(flagged.admin)), 'the mail');
    expect(smtp.mails.find((m) => m.to.includes(flagged.admin))!.text).toContain('STILL WORKS');

    // The key says so: in the admin API's read, and on the dashboard's list and key page.
    const path = `/api/teams/${flagged.team.id}/clients/${flagged.clientId}`;
    const read = () =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } }).then(
        (r) => r.json() as Promise<{ is_valid: boolean; leaked_at?: string }>,
      );
    expect(await read()).toMatchObject({ is_valid: true, leaked_at: expect.stringMatching(/^\d{4}-/) });
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: flagged.admin, password: PASSWORD },
    });
    expect((await browser.request('/dashboard/keys')).text).toContain('<span class="badge leaked">leaked</span>');
    const page = (await browser.request(`/dashboard/keys/${flagged.clientId}`)).text;
    expect(page).toMatch(/id="leaked">found in public [^<]*: rotate it now</);

    // Rotating it ends the leaked secret at once, whatever grace is asked, and the flag with it.
    const rotated = await fetch(`${server.url}${path}/secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grace_period_seconds: 3600 }),
    });
    expect(rotated.status).toBe(200);
    const fresh = ((await rotated.json()) as { client_secret: string }).client_secret;
    expect((await tokenFor(flagged.clientId, flagged.secret)).status).toBe(401);
    expect((await tokenFor(flagged.clientId, fresh)).status).toBe(200);
    expect((await read()).leaked_at).toBeUndefined();
  });

  it("GitHub rotates its key: a report signed by a key not yet known reads GitHub's list again and is accepted", async () => {
    const acme = await seedTeam('Rotated');
    published.push(githubKey());
    const fetchesBefore = listFetches;
    const body = JSON.stringify([finding(acme.secret)]);
    const res = await report(body, signed(published[1]!, body));
    expect(res.status).toBe(200);
    expect(listFetches).toBe(fetchesBefore + 1);
    expect(await revokedAt(acme.clientId)).not.toBeNull();
  });

  it("a static key file (closed network): verified with nothing fetched; made-up key ids read GitHub's list at most once per interval", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-gh-keys-'));
    const file = join(dir, 'secret_scanning.json');
    writeFileSync(file, keyList([published[0]!]));
    const closed = await startServer(server.config.databaseUrl, {
      admin_token: OPERATOR,
      github_secret_scanning_keys_file: file,
      github_secret_scanning_keys_url: 'http://127.0.0.1:1/never-fetched',
    });
    const throttled = await startServer(server.config.databaseUrl, {
      github_secret_scanning_keys_url: `http://127.0.0.1:${(github.address() as AddressInfo).port}/meta`,
      github_secret_scanning_keys_refresh_seconds: 3600,
    });
    try {
      const acme = await seedTeam('Closed');
      const body = JSON.stringify([finding(acme.secret)]);
      const fetchesBefore = listFetches;
      const res = await fetch(`${closed.url}/secret-scanning/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed(published[0]!, body) },
        body,
      });
      expect(res.status).toBe(200);
      expect(await revokedAt(acme.clientId)).not.toBeNull();

      for (let i = 0; i < 3; i++) {
        const made = JSON.stringify([finding(`made-up-${i}`)]);
        const refused = await fetch(`${throttled.url}/secret-scanning/github`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signed(githubKey(), made) },
          body: made,
        });
        expect(refused.status).toBe(401);
      }
      expect(listFetches).toBe(fetchesBefore + 1);
    } finally {
      await closed.close();
      await throttled.close();
    }
  });

  it("POST /keys/leaked: the operator reports another scanner's finding and it is acted on alike; no one else may", async () => {
    const acme = await seedTeam('Scanned');
    const body = JSON.stringify([
      { token: acme.secret, url: 'https://gitlab.example/acme/app/-/blob/main/.env', source: 'trufflehog' },
    ]);
    const before = await durableRows();
    for (const authorization of [undefined, 'Bearer not-the-operator-token', basic(acme.clientId, acme.secret)]) {
      const res = await fetch(`${server.url}/keys/leaked`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    }
    expect(await durableRows()).toEqual(before);

    const res = await fetch(`${server.url}/keys/leaked`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { token_hash: sha256Hex(acme.secret), token_type: 'keyport_api_key', label: 'true_positive' },
    ]);
    expect(await revokedAt(acme.clientId)).not.toBeNull();
    const [leaked] = (await eventsOf(acme.team.id)).filter((e) => e.action === 'client.leaked');
    expect(leaked).toMatchObject({
      actor: { type: 'operator' },
      details: { action: 'revoked', scanner: 'operator', source: 'trufflehog' },
    });
    await until(() => smtp.mails.some((m) => m.to.includes(acme.admin)), 'the mail');

    // The contract's other form: bare keys, one source for all; a bad body is 400 and changes nothing.
    const other = await seedTeam('Gitleaked');
    const unknown = generateClientSecret('dev');
    const post = (payload: unknown) =>
      fetch(`${server.url}/keys/leaked`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` },
        body: JSON.stringify(payload),
      });
    const bad = await post({ keys: [], source: 'gitleaks' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_request' });
    expect(await revokedAt(other.clientId)).toBeNull();
    const bare = await post({ keys: [other.secret, unknown], source: 'gitleaks' });
    expect(bare.status).toBe(200);
    expect(await bare.json()).toEqual([
      { token_hash: sha256Hex(other.secret), token_type: 'keyport_api_key', label: 'true_positive' },
      { token_hash: sha256Hex(unknown), token_type: 'keyport_api_key', label: 'true_positive' },
    ]);
    expect(await revokedAt(other.clientId)).not.toBeNull();
    const [gitleaked] = (await eventsOf(other.team.id)).filter((e) => e.action === 'client.leaked');
    expect(gitleaked!.details).toMatchObject({ action: 'revoked', scanner: 'operator', source: 'gitleaks', url: null });
  });

  it('both routes are in the generated OpenAPI document', async () => {
    const doc = (await fetch(`${server.url}/api/openapi.json`).then((r) => r.json())) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/secret-scanning/github'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/keys/leaked'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/teams/{team}/leaked-keys'] ?? {})).toEqual(['put']);
  });
});
