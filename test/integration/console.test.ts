import { generateKeyPairSync } from 'node:crypto';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';

const PASSWORD = 'Console-Staff-1';
const ADMIN = 'admin@customer.test';

/** The support console (issue 29): staff sign-in with TOTP, search, the runbook's procedures, and every refusal. */
describe.each(DATABASES)('support console on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let freeTeam: number;
  let fullTeam: number;
  const secrets = new Map<string, string>();

  async function addStaff(email: string, role: string) {
    await server.keyport.staff.add({ email, role, password: PASSWORD });
  }

  /**
   * Signs in as a browser would: password, then the TOTP code (enrolling at the
   * first sign-in). A code is accepted once, so a second sign-in within its
   * 30 s would be refused: each account signs in once and its session is reused.
   */
  const signedIn = new Map<string, Awaited<ReturnType<typeof signInOnce>>>();
  const usedCodes = new Map<string, string>();
  async function signIn(email: string) {
    if (!signedIn.has(email)) signedIn.set(email, await signInOnce(email));
    return signedIn.get(email)!;
  }
  async function signInOnce(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/console/signin');
    const res = await browser.request('/console/signin', {
      form: { csrf: csrfOf(form.text), email, password: PASSWORD },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/second-factor');
    const prompt = await browser.request('/console/second-factor');
    expect(prompt.status).toBe(200);
    const shown = /id="totp-secret">([A-Z2-7]+)</.exec(prompt.text)?.[1];
    if (shown) {
      secrets.set(email, shown);
      expect(prompt.headers.get('content-security-policy')).toContain('img-src data:');
    }
    const code = authenticator.generate(secrets.get(email)!);
    usedCodes.set(email, code);
    const done = await browser.request('/console/second-factor', { form: { csrf: csrfOf(prompt.text), code } });
    expect(done.status).toBe(shown ? 200 : 303);
    const teams = await browser.request('/console/teams');
    expect(teams.status).toBe(200);
    return { browser, csrf: csrfOf(teams.text), enrolment: done.text };
  }

  const keyForm = (csrf: string, extra: Record<string, string> = {}) => ({
    csrf,
    kind: 'service_account',
    name: 'from support',
    requested_by: ADMIN,
    link_ttl: '3600',
    reason: 'ticket 4711: customer asked for a CI key',
    ...extra,
  });
  const keysOf = async (team: number) => server.keyport.db('o_auth_clients').where({ team_id: team }).count({ n: '*' });
  const count = async (team: number) => Number((await keysOf(team))[0]!.n);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      plans: {
        pro: { api_access: true, max_keys: 100 },
        full: { api_access: true, max_keys: 1 },
        free: { api_access: false, max_keys: 10 },
      },
    });
    const { teamService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Customer Co', plan: 'pro' })).id;
    freeTeam = (await teamService.createTeam({ name: 'Free Co', plan: 'free' })).id;
    fullTeam = (await teamService.createTeam({ name: 'Full Co', plan: 'full' })).id;
    for (const team of [teamId, freeTeam, fullTeam])
      await teamService.addPerson({
        teamId: team,
        email: team === teamId ? ADMIN : `admin${team}@x.test`,
        password: PASSWORD,
        role: 'admin',
      });
    await teamService.addPerson({ teamId, email: 'member@customer.test', password: PASSWORD, role: 'member' });
    await server.keyport.clientService.createServiceAccount({ teamId: fullTeam, name: 'the one' });
    await addStaff('support@keyport.test', 'support');
    await addStaff('admin@keyport.test', 'admin');
    await addStaff('readonly@keyport.test', 'readonly');
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('staff enrol TOTP at the first sign-in; recovery codes are shown once and stored as digests', async () => {
    const { enrolment } = await signIn('support@keyport.test');
    const codes = [...enrolment.matchAll(/<li><code>([0-9a-f-]+)<\/code><\/li>/g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    const account = await server.keyport.db('staff_accounts').where({ email: 'support@keyport.test' }).first();
    expect(account.totp_sealed).not.toContain(secrets.get('support@keyport.test'));
    const stored = await server.keyport.db('staff_recovery_codes').where({ staff_id: account.id });
    expect(stored).toHaveLength(10);
    expect(stored.map((r: { code_digest: string }) => r.code_digest)).not.toContain(codes[0]);
  });

  it('a wrong TOTP code is 401 and the session stays at the password stage', async () => {
    await signIn('readonly@keyport.test');
    const browser = new Browser(server.url);
    const form = await browser.request('/console/signin');
    await browser.request('/console/signin', {
      form: { csrf: csrfOf(form.text), email: 'readonly@keyport.test', password: PASSWORD },
    });
    const prompt = await browser.request('/console/second-factor');
    const res = await browser.request('/console/second-factor', {
      form: { csrf: csrfOf(prompt.text), code: '000000' },
    });
    expect(res.status).toBe(401);
    const teams = await browser.request('/console/teams');
    expect(teams.status).toBe(303);
    expect(teams.headers.get('location')).toBe('/console/second-factor');
  });

  it('a TOTP code is accepted once: the same code again, in a second browser, is 401 and opens no session', async () => {
    await addStaff('replay@keyport.test', 'support');
    await signIn('replay@keyport.test');
    const used = usedCodes.get('replay@keyport.test')!;
    const before = await server.keyport.db('staff_accounts').where({ email: 'replay@keyport.test' }).first();
    const browser = new Browser(server.url);
    const form = await browser.request('/console/signin');
    await browser.request('/console/signin', {
      form: { csrf: csrfOf(form.text), email: 'replay@keyport.test', password: PASSWORD },
    });
    const prompt = await browser.request('/console/second-factor');
    const res = await browser.request('/console/second-factor', { form: { csrf: csrfOf(prompt.text), code: used } });
    expect(res.status).toBe(401);
    expect((await browser.request('/console/teams')).status).toBe(303);
    const after = await server.keyport.db('staff_accounts').where({ email: 'replay@keyport.test' }).first();
    expect(Number(after.totp_last_step)).toBe(Number(before.totp_last_step));
  });

  it('a wrong password is 401 and no session is opened', async () => {
    const browser = new Browser(server.url);
    const form = await browser.request('/console/signin');
    const res = await browser.request('/console/signin', {
      form: { csrf: csrfOf(form.text), email: 'support@keyport.test', password: 'wrong-password' },
    });
    expect(res.status).toBe(401);
    expect((await browser.request('/console/teams')).status).toBe(303);
  });

  it("finds a team by an admin's email, by its id and by a key's visible prefix", async () => {
    const { browser } = await signIn('support@keyport.test');
    const byEmail = await browser.request(`/console/teams?q=${encodeURIComponent(ADMIN)}`);
    expect(byEmail.text).toContain(`href="/console/teams/${teamId}"`);
    expect(byEmail.text).toContain('admin&#39;s email');
    const byId = await browser.request(`/console/teams?q=${fullTeam}`);
    expect(byId.text).toContain(`href="/console/teams/${fullTeam}"`);
    const key = await server.keyport.clientService.createServiceAccount({ teamId, name: 'findable' });
    const prefix = `${server.config.keyPrefix}_sk_prod_${key.clientSecret!.split('_').pop()!.slice(0, 4)}…`;
    const byPrefix = await browser.request(`/console/teams?q=${encodeURIComponent(prefix)}`);
    expect(byPrefix.text).toContain(`href="/console/teams/${teamId}"`);
    expect(byPrefix.text).toContain('visible key prefix');
  });

  it('support creates a service account; the secret goes out as a one-time link, and the audit names the staff and reason', async () => {
    const { browser, csrf } = await signIn('support@keyport.test');
    const res = await browser.request(`/console/teams/${teamId}/keys`, { form: keyForm(csrf) });
    expect(res.status).toBe(201);
    const link = /id="share-url">([^<]+)</.exec(res.text)![1]!;
    expect(link).toContain('/s/');
    const clientId = /id="new-client-id">([^<]+)</.exec(res.text)![1]!;
    const row = await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first();
    expect(res.text).not.toContain(`_sk_prod_${row.secret_hint}`);
    const event = await server.keyport
      .db('audit_events')
      .where({ client_id: clientId, action: 'client.create' })
      .first();
    expect(event.actor_type).toBe('staff');
    const details = typeof event.details === 'string' ? JSON.parse(event.details) : event.details;
    expect(details).toMatchObject({
      staff_email: 'support@keyport.test',
      reason: 'ticket 4711: customer asked for a CI key',
      via: 'console',
    });
  });

  it('a JWT service account takes the pasted public key; an RSA key under 2048 bits is 400 and creates nothing', async () => {
    const { browser, csrf } = await signIn('support@keyport.test');
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    const ok = await browser.request(`/console/teams/${teamId}/keys`, {
      form: keyForm(csrf, { kind: 'service_account_jwt', public_key: String(good) }),
    });
    expect(ok.status).toBe(201);
    expect(ok.text).not.toContain('share-url');
    const before = await count(teamId);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    const bad = await browser.request(`/console/teams/${teamId}/keys`, {
      form: keyForm(csrf, { kind: 'service_account_jwt', public_key: String(weak) }),
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('public_key');
    expect(await count(teamId)).toBe(before);
  });

  it('a P-384 key, garbage and a pasted private key are 400, create nothing, and the private key is not echoed', async () => {
    const { browser, csrf } = await signIn('support@keyport.test');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' });
    const privatePem = String(
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const privateBody = privatePem.split('\n')[1]!;
    const before = await count(teamId);
    for (const publicKey of [String(p384), 'not a key at all', privatePem]) {
      const res = await browser.request(`/console/teams/${teamId}/keys`, {
        form: keyForm(csrf, { kind: 'service_account_jwt', public_key: publicKey }),
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain('public_key');
      expect(res.text).not.toContain('PRIVATE KEY');
      expect(res.text).not.toContain(privateBody);
    }
    expect(await count(teamId)).toBe(before);
  });

  it('an OAuth app with the oob redirect gets a one-time link', async () => {
    const { browser, csrf } = await signIn('support@keyport.test');
    const res = await browser.request(`/console/teams/${teamId}/keys`, {
      form: keyForm(csrf, { kind: 'app', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob' }),
    });
    expect(res.status).toBe(201);
    expect(res.text).toContain('id="share-url"');
  });

  it('refusals change nothing: missing reason, readonly staff, requester not an admin, plan without access, key limit', async () => {
    const support = await signIn('support@keyport.test');
    const readonly = await signIn('readonly@keyport.test');
    const before = await count(teamId);
    const noReason = await support.browser.request(`/console/teams/${teamId}/keys`, {
      form: keyForm(support.csrf, { reason: '' }),
    });
    expect(noReason.status).toBe(400);
    const readOnly = await readonly.browser.request(`/console/teams/${teamId}/keys`, { form: keyForm(readonly.csrf) });
    expect(readOnly.status).toBe(403);
    const member = await support.browser.request(`/console/teams/${teamId}/keys`, {
      form: keyForm(support.csrf, { requested_by: 'member@customer.test' }),
    });
    expect(member.status).toBe(403);
    expect(member.text).toContain('is not an admin of team');
    expect(await count(teamId)).toBe(before);
    const free = await support.browser.request(`/console/teams/${freeTeam}/keys`, {
      form: keyForm(support.csrf, { requested_by: `admin${freeTeam}@x.test` }),
    });
    expect(free.status).toBe(403);
    expect(await count(freeTeam)).toBe(0);
    const full = await support.browser.request(`/console/teams/${fullTeam}/keys`, {
      form: keyForm(support.csrf, { requested_by: `admin${fullTeam}@x.test` }),
    });
    expect(full.status).toBe(403);
    expect(await count(fullTeam)).toBe(1);
    const noCsrf = await support.browser.request(`/console/teams/${teamId}/keys`, { form: keyForm('forged') });
    expect(noCsrf.status).toBe(403);
    expect(await count(teamId)).toBe(before);
  });

  it('only a console admin changes a plan, with a reason', async () => {
    const support = await signIn('support@keyport.test');
    const refused = await support.browser.request(`/console/teams/${freeTeam}/plan`, {
      form: { csrf: support.csrf, plan: 'pro', reason: 'upgrade' },
    });
    expect(refused.status).toBe(403);
    const admin = await signIn('admin@keyport.test');
    const noReason = await admin.browser.request(`/console/teams/${freeTeam}/plan`, {
      form: { csrf: admin.csrf, plan: 'pro', reason: '' },
    });
    expect(noReason.status).toBe(400);
    expect((await server.keyport.teamService.getTeam(freeTeam)).plan).toBe('free');
    const done = await admin.browser.request(`/console/teams/${freeTeam}/plan`, {
      form: { csrf: admin.csrf, plan: 'pro', reason: 'sales ticket 12' },
    });
    expect(done.status).toBe(303);
    expect((await server.keyport.teamService.getTeam(freeTeam)).plan).toBe('pro');
  });

  it('resend a share link: a new one-time link, no secret on the page, audited with its reason', async () => {
    const key = await server.keyport.clientService.createServiceAccount({ teamId, name: 'to resend' });
    const id = key.client.client_id;
    const { browser, csrf } = await signIn('support@keyport.test');
    const res = await browser.request(`/console/keys/${id}/rotate`, {
      form: { csrf, grace: '0', resend: '1', link_ttl: '3600', reason: 'ticket 99: link expired' },
    });
    expect(res.status).toBe(200);
    expect(/id="share-url">([^<]+)</.exec(res.text)![1]!).toContain('/s/');
    const row = await server.keyport.db('o_auth_clients').where({ client_id: id }).first();
    expect(res.text).not.toContain(key.clientSecret!);
    expect(res.text).not.toContain(`_sk_prod_${row.secret_hint}`);
    const event = await server.keyport
      .db('audit_events')
      .where({ client_id: id, action: 'client.secret.regenerate' })
      .first();
    expect(event.actor_type).toBe('staff');
    const details = typeof event.details === 'string' ? JSON.parse(event.details) : event.details;
    expect(details).toMatchObject({ reason: 'ticket 99: link expired', resend: true, grace_period_seconds: 0 });
  });

  it('revoke with a reason; the team page shows support made it', async () => {
    const key = await server.keyport.clientService.createServiceAccount({ teamId, name: 'to revoke' });
    const id = key.client.client_id;
    const { browser, csrf } = await signIn('support@keyport.test');
    const noReason = await browser.request(`/console/keys/${id}/revoke`, { form: { csrf, reason: '' } });
    expect(noReason.status).toBe(400);
    const res = await browser.request(`/console/keys/${id}/revoke`, { form: { csrf, reason: 'customer leaked it' } });
    expect(res.status).toBe(303);
    expect((await server.keyport.db('o_auth_clients').where({ client_id: id }).first()).revoked_at).not.toBeNull();
    const page = await browser.request(`/console/teams/${teamId}`);
    expect(page.text).toContain('keyport support (support@keyport.test)');
    expect(page.text).toContain('customer leaked it');
  });

  it('a disabled staff account is out at its next request', async () => {
    await addStaff('leaver@keyport.test', 'support');
    const { browser } = await signIn('leaver@keyport.test');
    const result = await server.keyport.staff.disable('leaver@keyport.test');
    expect(result.sessionsEnded).toBe(1);
    const res = await browser.request('/console/teams');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/signin');
    const again = new Browser(server.url);
    const form = await again.request('/console/signin');
    const refused = await again.request('/console/signin', {
      form: { csrf: csrfOf(form.text), email: 'leaver@keyport.test', password: PASSWORD },
    });
    expect(refused.status).toBe(401);
  });

  it('the health page shows the metrics figures to staff', async () => {
    const { browser } = await signIn('readonly@keyport.test');
    const res = await browser.request('/console/health');
    expect(res.status).toBe(200);
    expect(res.text).toContain('teams-per-plan');
    expect(res.text).toContain('keyport_');
  });
});
