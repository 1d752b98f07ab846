import { generateKeyPairSync, randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const password = 'Runbook-Pass-1';

/**
 * Issue 24 item 7: a row put into o_auth_clients by hand, exactly as the
 * support runbook does (docs/products 000), is a first-class key of its team:
 * a service account among the members, a key with its kind and a created
 * time, in the admin API, the dashboard and the CLI, with no restart.
 */
describe.each(DATABASES)('rows inserted by hand the runbook way on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let teamId: number;
  const secret = 'RunbookSecret0123456789abcdefXYZ';

  const api = async (path: string) => {
    const res = await fetch(`${server.url}/api${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR });
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
    teamId = (await server.keyport.teamService.createTeam({ name: 'Bugfender customer', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email: 'admin@bf.test', password, role: 'admin' });
    const db = server.keyport.db;
    // Service account (medium): htpasswd -nbBC 10 writes $2y$.
    const hash = (await bcrypt.hash(secret, 10)).replace(/^\$2b\$/, '$2y$');
    await db.raw('INSERT INTO o_auth_clients (client_id, client_secret_hash, team_id) VALUES (?, ?, ?)', [
      'runbookSA000001',
      hash,
      teamId,
    ]);
    // Service account with JWT (high): the customer's public key pasted in, no secret.
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await db.raw('INSERT INTO o_auth_clients (client_id, client_r_s_a_public_key, team_id) VALUES (?, ?, ?)', [
      'runbookJWT00001',
      pem,
      teamId,
    ]);
    // OAuth app: a bcrypt secret and the oob redirect URI.
    await db.raw(
      'INSERT INTO o_auth_clients (client_id, client_secret_hash, redirect_uri, team_id) VALUES (?, ?, ?, ?)',
      ['runbookAPP00001', await bcrypt.hash(secret, 10), 'urn:ietf:wg:oauth:2.0:oob', teamId],
    );
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('the admin API lists each with its kind and a created time; the service accounts are members of the team', async () => {
    const list = await api(`/teams/${teamId}/clients?limit=100`);
    expect(list.status).toBe(200);
    const byId = new Map((list.body.data as Array<Record<string, unknown>>).map((c) => [c.client_id, c]));
    expect(byId.get('runbookSA000001')).toMatchObject({ kind: 'service_account', is_valid: true });
    expect(byId.get('runbookJWT00001')).toMatchObject({ kind: 'service_account_jwt', is_valid: true });
    expect(byId.get('runbookAPP00001')).toMatchObject({ kind: 'app', is_valid: true });
    for (const id of ['runbookSA000001', 'runbookJWT00001', 'runbookAPP00001']) {
      expect(Date.parse(byId.get(id)!.created_at as string), id).toBeGreaterThan(Date.now() - 600_000);
    }
    const sa = byId.get('runbookSA000001')!;
    expect(sa.user_id).toEqual(expect.any(Number));

    const members = await api(`/teams/${teamId}/members`);
    expect(members.status).toBe(200);
    const accounts = (members.body.data as Array<Record<string, unknown>>).filter((m) => m.kind === 'service_account');
    expect(accounts.map((m) => m.client_id).sort()).toEqual(['runbookJWT00001', 'runbookSA000001']);
    expect(accounts.find((m) => m.client_id === 'runbookSA000001')!.user_id).toBe(sa.user_id);

    // Listed twice, adopted once: no second user for the same row.
    await api(`/teams/${teamId}/clients`);
    const users = await server.keyport.db('users').where({ kind: 'service_account' });
    expect(users).toHaveLength(2);
  });

  it('a row used before it is listed takes its first use as its created time, and keeps working', async () => {
    const hash = await bcrypt.hash(secret, 10);
    await server.keyport.db.raw(
      'INSERT INTO o_auth_clients (client_id, client_secret_hash, team_id) VALUES (?, ?, ?)',
      ['runbookUSED0001', hash, teamId],
    );
    const before = Math.floor(Date.now() / 1000);
    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic('runbookUSED0001', secret) },
    );
    expect(token.status).toBe(200);
    await server.keyport.usage.flush();
    const row = await server.keyport.db('o_auth_clients').where({ client_id: 'runbookUSED0001' }).first();
    expect(Number(row.created_at)).toBeGreaterThanOrEqual(before);
    const list = await api(`/teams/${teamId}/clients?limit=100`);
    const used = (list.body.data as Array<Record<string, unknown>>).find((c) => c.client_id === 'runbookUSED0001')!;
    expect(used.created_at).toBe(new Date(Number(row.created_at) * 1000).toISOString());
    const again = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic('runbookUSED0001', secret) },
    );
    expect(again.status).toBe(200);
  });

  it('the dashboard lists them as keys with a created date and the service accounts as members', async () => {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const signIn = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'admin@bf.test', password },
    });
    expect(signIn.status).toBe(303);
    const keys = await browser.request('/dashboard/keys');
    // Kinds as the dashboard names them (pages.ts kindLabel); none of these was used, so the one date is its creation.
    for (const [id, kind] of [
      ['runbookSA000001', 'secret'],
      ['runbookJWT00001', 'public key'],
      ['runbookAPP00001', 'app'],
    ]) {
      const row = new RegExp(`<tr data-client-id="${id}">(.*?)</tr>`).exec(keys.text)?.[1];
      expect(row, id).toBeDefined();
      expect(row, id).toContain(`<td data-label="Kind" class="wide-only">${kind}</td>`);
      expect(row, id).toMatch(/<td data-label="Created" class="wide-only">\d{4}-\d\d-\d\d \d\d:\d\d<\/td>/);
    }
    const members = await browser.request('/dashboard/members');
    expect(members.text).toContain('href="/dashboard/keys/runbookSA000001"');
    expect(members.text).toContain('href="/dashboard/keys/runbookJWT00001"');
  });

  it('the CLI lists them with their kind and created time, and userlist names the service accounts', async () => {
    const listed = await runCli(env, 'clientlist', '-team', String(teamId), '-json');
    expect(listed.code, listed.stderr).toBe(0);
    const data = (JSON.parse(listed.stdout) as { data: Array<Record<string, unknown>> }).data;
    expect(data.find((c) => c.client_id === 'runbookJWT00001')).toMatchObject({
      kind: 'service_account_jwt',
      created_at: expect.stringMatching(/^\d{4}-/),
    });
    const users = await runCli(env, 'userlist', '-team', String(teamId), '-json');
    expect(users.code, users.stderr).toBe(0);
    const people = (JSON.parse(users.stdout) as { data: Array<Record<string, unknown>> }).data;
    expect(people.filter((m) => m.kind === 'service_account').map((m) => m.client_id)).toEqual(
      expect.arrayContaining(['runbookSA000001', 'runbookJWT00001']),
    );
  });
});
