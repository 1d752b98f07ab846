import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const PASSWORD = 'Dashboard-Hooks-1';
const OPERATOR = 'operator-token-for-the-dashboard-webhook-tests-0123';
const nonceOf = (html: string) => /name="nonce" value="([^"]+)"/.exec(html)?.[1] ?? '';
const secretOf = (html: string) => /id="new-secret">(whsec_[^<]+)</.exec(html)?.[1];

type Row = Record<string, unknown>;

/** Issue 26 item 4: the team's webhook endpoints in the dashboard, for its admins only. */
describe.each(DATABASES)('the dashboard webhook pages on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 100 } },
      webhook_allow_private_addresses: true,
      webhook_poll_ms: 20,
    });
    const { teamService } = server.keyport;
    teamA = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    teamB = (await teamService.createTeam({ name: 'Other', plan: 'pro' })).id;
    await teamService.addPerson({ teamId: teamA, email: 'admin@a.test', password: PASSWORD, role: 'admin' });
    await teamService.addPerson({ teamId: teamA, email: 'member@a.test', password: PASSWORD, role: 'member' });
    await teamService.addPerson({ teamId: teamB, email: 'admin@b.test', password: PASSWORD, role: 'admin' });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.close();
    await drop?.();
  });

  async function signIn(email: string) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email, password: PASSWORD },
    });
    expect(res.status).toBe(303);
    const page = await browser.request('/dashboard/keys');
    expect(page.status).toBe(200);
    return { browser, csrf: csrfOf(page.text), keysPage: page.text };
  }

  const endpointsOf = async (team: number) =>
    (await server.keyport.db('webhook_endpoints').where({ team_id: team }).select('*')) as Row[];
  const auditOf = async (action: string) =>
    (await server.keyport.db('audit_events').where({ action }).orderBy('id').select('*')) as Row[];
  const deliveryRow = async (id: string) =>
    (await server.keyport.db('webhook_deliveries').where({ id }).first()) as Row | undefined;

  /** Registers an endpoint for `key.created` through the form; returns its id and secret. */
  async function registerThroughForm(browser: Browser, url = receiver.url) {
    const page = await browser.request('/dashboard/webhooks');
    expect(page.status).toBe(200);
    const res = await browser.request('/dashboard/webhooks', {
      form: { csrf: csrfOf(page.text), nonce: nonceOf(page.text), url, events: 'key.created' },
    });
    expect(res.status).toBe(201);
    const secret = secretOf(res.text)!;
    const id = /href="\/dashboard\/webhooks\/(whe_[^"]+)"/.exec(res.text)![1]!;
    return { id, secret, res };
  }

  /** Waits, without a fixed sleep, until the delivery row matches. */
  async function untilDelivery(endpointId: string, test: (row: Row) => boolean): Promise<Row> {
    for (;;) {
      const row = (await server.keyport.db('webhook_deliveries').where({ endpoint_id: endpointId }).first()) as
        Row | undefined;
      if (row && test(row)) return row;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('an admin registers an endpoint from the form: 201, its secret shown this once and stored sealed, audited', async () => {
    const { browser, keysPage } = await signIn('admin@a.test');
    expect(keysPage).toContain('href="/dashboard/webhooks"');
    const { id, secret, res } = await registerThroughForm(browser);
    expect(secret).toMatch(/^whsec_/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const [row] = await endpointsOf(teamA);
    expect(row).toMatchObject({ id, url: receiver.url, team_id: teamA });
    expect(JSON.parse(String(row!.events))).toEqual(['key.created']);
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    // Every later read lists the endpoint, never its secret.
    const list = await browser.request('/dashboard/webhooks');
    expect(list.text).toContain(receiver.url);
    expect(list.text).not.toContain(secret.slice(6));
    const page = await browser.request(`/dashboard/webhooks/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(secret.slice(6));
    const [audited] = (await auditOf('webhook.create')).filter((r) => String(r.details).includes(id));
    expect(audited).toMatchObject({ team_id: teamA, actor_type: 'person', client_id: null, status: 201 });
    expect(String(audited!.details)).not.toContain(secret.slice(6));
    await server.keyport.db('webhook_endpoints').where({ id }).delete();
  });

  it('the register form works once: sent again with the same nonce it is 409 and registers nothing more', async () => {
    const { browser } = await signIn('admin@a.test');
    const page = await browser.request('/dashboard/webhooks');
    const form = { csrf: csrfOf(page.text), nonce: nonceOf(page.text), url: receiver.url, events: 'key.revoked' };
    expect((await browser.request('/dashboard/webhooks', { form })).status).toBe(201);
    const again = await browser.request('/dashboard/webhooks', { form });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain('whsec_');
    expect(await endpointsOf(teamA)).toHaveLength(1);
    await server.keyport.db('webhook_endpoints').where({ team_id: teamA }).delete();
  });

  it('a missing or wrong CSRF token is 403 and registers nothing', async () => {
    const { browser } = await signIn('admin@a.test');
    const page = await browser.request('/dashboard/webhooks');
    for (const csrf of ['', 'forged']) {
      const res = await browser.request('/dashboard/webhooks', {
        form: { csrf, nonce: nonceOf(page.text), url: receiver.url, events: 'key.created' },
      });
      expect(res.status).toBe(403);
    }
    expect(await endpointsOf(teamA)).toEqual([]);
  });

  it.each([
    ['a URL that is no URL', 'not a url', 'key.created', /url/],
    ['an ftp:// URL', 'ftp://example.com/hook', 'key.created', /url/],
    ['an unknown event', 'https://example.com/hook', 'key.exploded', /no event named key\.exploded/],
    ['no event', 'https://example.com/hook', '', /at least one event/],
  ])('%s is 400 on the form, in words, and registers nothing', async (_name, url, events, said) => {
    const { browser } = await signIn('admin@a.test');
    const page = await browser.request('/dashboard/webhooks');
    const res = await browser.request('/dashboard/webhooks', {
      form: { csrf: csrfOf(page.text), nonce: nonceOf(page.text), url, ...(events ? { events } : {}) },
    });
    expect(res.status).toBe(400);
    const error = /id="form-error">([^<]+)</.exec(res.text)?.[1] ?? '';
    expect(error).toMatch(said);
    expect(res.text).not.toContain('whsec_');
    // The form comes back with a fresh nonce: it can be sent again.
    expect(nonceOf(res.text)).not.toBe(nonceOf(page.text));
    expect(await endpointsOf(teamA)).toEqual([]);
  });

  it('send again re-queues one delivery: the receiver gets it a second time with the same webhook-id; audited', async () => {
    const admin = await signIn('admin@a.test');
    const { id, secret } = await registerThroughForm(admin.browser);
    receiver.state.secret = secret;
    const before = receiver.received.length;
    const key = await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'hooked' });
    const first = await receiver.until((r) => r.length >= before + 1);
    const sent = first[before]!;
    expect(sent.body).toMatchObject({ type: 'key.created', data: { client_id: key.client.client_id } });
    const delivered = await untilDelivery(id, (row) => row.status === 'delivered');
    expect(delivered.id).toBe(sent.id);

    // The log shows the delivery: its status, answer, latency, attempts and a send-again form.
    const page = await admin.browser.request(`/dashboard/webhooks/${id}`);
    expect(page.text).toContain(`data-delivery-id="${sent.id}"`);
    expect(page.text).toMatch(/class="badge delivered"/);
    expect(page.text).toMatch(/class="attempts">1</);
    expect(page.text).toMatch(/class="latency">\d+ ms</);
    const action = `/dashboard/webhooks/${id}/deliveries/${sent.id}/retry`;
    expect(page.text).toContain(`action="${action}"`);

    // Without the page's token nothing is re-queued.
    expect((await admin.browser.request(action, { form: { csrf: 'forged' } })).status).toBe(403);
    expect(await deliveryRow(sent.id)).toMatchObject({ status: 'delivered' });

    const res = await admin.browser.request(action, { form: { csrf: csrfOf(page.text) } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/dashboard/webhooks/${id}`);
    const again = await receiver.until((r) => r.length >= before + 2);
    expect(again[before + 1]!.id).toBe(sent.id);
    expect(again[before + 1]!.raw).toBe(sent.raw);
    await untilDelivery(id, (row) => row.status === 'delivered' && Number(row.attempts) === 2);
    const [audited] = (await auditOf('webhook.retry')).filter((r) => String(r.details).includes(sent.id));
    expect(audited).toMatchObject({ team_id: teamA, actor_type: 'person', status: 303 });
    expect(JSON.parse(String(audited!.details))).toMatchObject({
      endpoint_id: id,
      delivery_id: sent.id,
      event_type: 'key.created',
      via: 'dashboard',
    });
    await server.keyport.db('webhook_endpoints').where({ id }).delete();
  });

  it('a member sees no Webhooks link, and every webhook page and form answers 403 and changes nothing', async () => {
    const admin = await signIn('admin@a.test');
    const { id, secret } = await registerThroughForm(admin.browser);
    receiver.state.secret = secret;
    await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'seen-by-member' });
    const delivery = await untilDelivery(id, (row) => row.status === 'delivered');

    const member = await signIn('member@a.test');
    expect(member.keysPage).not.toContain('href="/dashboard/webhooks"');
    for (const path of ['/dashboard/webhooks', `/dashboard/webhooks/${id}`]) {
      const res = await member.browser.request(path);
      expect(res.status, path).toBe(403);
      expect(res.text, path).not.toContain(receiver.url);
      expect(res.text, path).not.toContain(id);
    }
    const csrf = member.csrf;
    const register = await member.browser.request('/dashboard/webhooks', {
      form: { csrf, nonce: 'n', url: receiver.url, events: 'key.created' },
    });
    expect(register.status).toBe(403);
    expect(
      (
        await member.browser.request(`/dashboard/webhooks/${id}/deliveries/${String(delivery.id)}/retry`, {
          form: { csrf },
        })
      ).status,
    ).toBe(403);
    expect((await member.browser.request(`/dashboard/webhooks/${id}/remove`, { form: { csrf } })).status).toBe(403);
    expect(await endpointsOf(teamA)).toHaveLength(1);
    expect(await deliveryRow(String(delivery.id))).toMatchObject({ status: 'delivered', attempts: 1 });
    await server.keyport.db('webhook_endpoints').where({ id }).delete();
  });

  it("tenant isolation: another team's admin gets 404 for the endpoint, its log, send again and removal", async () => {
    const a = await signIn('admin@a.test');
    const { id, secret } = await registerThroughForm(a.browser);
    receiver.state.secret = secret;
    await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'private-to-a' });
    const delivery = await untilDelivery(id, (row) => row.status === 'delivered');

    const b = await signIn('admin@b.test');
    const own = await registerThroughForm(b.browser, 'https://example.com/b-hook');
    const list = await b.browser.request('/dashboard/webhooks');
    expect(list.text).not.toContain(receiver.url);
    expect(list.text).not.toContain(id);
    const page = await b.browser.request(`/dashboard/webhooks/${id}`);
    expect(page.status).toBe(404);
    expect(page.text).not.toContain(receiver.url);
    const csrf = csrfOf(list.text);
    // Team A's delivery, asked for under team A's endpoint and under team B's own one.
    for (const endpoint of [id, own.id]) {
      const res = await b.browser.request(`/dashboard/webhooks/${endpoint}/deliveries/${String(delivery.id)}/retry`, {
        form: { csrf },
      });
      expect(res.status, endpoint).toBe(404);
    }
    expect((await b.browser.request(`/dashboard/webhooks/${id}/remove`, { form: { csrf } })).status).toBe(404);
    expect(await endpointsOf(teamA)).toHaveLength(1);
    expect(await deliveryRow(String(delivery.id))).toMatchObject({ status: 'delivered', attempts: 1 });
    expect((await auditOf('webhook.retry')).filter((r) => r.team_id === teamB)).toEqual([]);
    await server.keyport.db('webhook_endpoints').whereIn('id', [id, own.id]).delete();
  });

  it('remove: 303 to the list; the endpoint and its delivery log are gone; audited', async () => {
    const { browser } = await signIn('admin@a.test');
    const { id, secret } = await registerThroughForm(browser);
    receiver.state.secret = secret;
    await server.keyport.clientService.createServiceAccount({ teamId: teamA, name: 'then-removed' });
    await untilDelivery(id, (row) => row.status === 'delivered');
    const page = await browser.request(`/dashboard/webhooks/${id}`);
    const res = await browser.request(`/dashboard/webhooks/${id}/remove`, { form: { csrf: csrfOf(page.text) } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/webhooks');
    expect(await endpointsOf(teamA)).toEqual([]);
    expect(await server.keyport.db('webhook_deliveries').where({ endpoint_id: id }).select('id')).toEqual([]);
    const [audited] = (await auditOf('webhook.remove')).filter((r) => String(r.details).includes(id));
    expect(audited).toMatchObject({ team_id: teamA, actor_type: 'person', status: 303 });
    expect((await browser.request(`/dashboard/webhooks/${id}`)).status).toBe(404);
  });

  it("the admin API's send again, registration and removal are audited in the team's log", async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${OPERATOR}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const created = await api('POST', `/api/teams/${teamB}/webhooks`, { url: receiver.url, events: ['key.created'] });
    expect(created.status).toBe(201);
    receiver.state.secret = created.body.secret;
    const id = created.body.id as string;
    await server.keyport.clientService.createServiceAccount({ teamId: teamB, name: 'api-hooked' });
    const delivery = await untilDelivery(id, (row) => row.status === 'delivered');
    const retry = await api('POST', `/api/teams/${teamB}/webhooks/${id}/deliveries/${String(delivery.id)}/retry`);
    expect(retry.status).toBe(202);
    expect((await api('DELETE', `/api/teams/${teamB}/webhooks/${id}`)).status).toBe(204);
    const rows = [
      ...(await auditOf('webhook.create')),
      ...(await auditOf('webhook.retry')),
      ...(await auditOf('webhook.remove')),
    ].filter((r) => String(r.details).includes(id));
    expect(rows.map((r) => [r.action, r.team_id, r.actor_type, r.status])).toEqual([
      ['webhook.create', teamB, 'operator', 201],
      ['webhook.retry', teamB, 'operator', 202],
      ['webhook.remove', teamB, 'operator', 204],
    ]);
    expect(JSON.stringify(rows)).not.toContain(String(created.body.secret).slice(6));
  });
});
