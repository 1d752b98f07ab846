import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../helpers/auth-flow.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');
const BY_TEST = { type: 'operator', id: 'test' } as const;

/**
 * Issue 26 item 3: a product-wide sync token opens the sync routes and nothing else; a revoked
 * one is refused at once; keyport keeps only its hash; its changes are audited as that token.
 */
describe.each(DATABASES)('sync tokens on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const auditRows = (teamId: number) => server.keyport.db('audit_events').where({ team_id: teamId }).orderBy('id');

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a sync token works for each sync route, and each change is audited as that token, not the operator', async () => {
    const { token, view } = await server.keyport.syncTokens.issue('billing backend', BY_TEST);
    expect(token).toMatch(/^keyport_sync_[A-Za-z0-9_-]{43}$/);
    const actor = { actor_type: 'sync_token', actor_id: String(view.token_id) };

    const team = await api(token, 'PUT', '/teams/by-external-id/org_tok', { name: 'Tok', plan: 'pro' });
    expect(team.status).toBe(201);
    const teamId = team.body.team_id as number;
    expect((await api(token, 'PUT', '/teams/by-external-id/org_tok', { name: 'Tok', plan: 'pro' })).status).toBe(200);
    const member = await api(token, 'PUT', '/teams/by-external-id/org_tok/members/u_1', {
      email: 'one@tok.test',
      role: 'admin',
    });
    expect(member.status).toBe(201);
    expect(
      (await api(token, 'PUT', '/teams/by-external-id/org_tok/members/u_2', { email: 'two@tok.test', role: 'member' }))
        .status,
    ).toBe(201);
    expect((await api(token, 'DELETE', '/teams/by-external-id/org_tok/members/u_2')).status).toBe(204);
    expect((await api(token, 'DELETE', '/teams/by-external-id/org_tok')).status).toBe(204);
    expect((await server.keyport.db('teams').where({ id: teamId }).first()).suspended_at).not.toBeNull();

    const rows = await auditRows(teamId);
    expect(rows.map((r) => [r.action, r.actor_type, r.actor_id])).toEqual([
      ['team.sync', actor.actor_type, actor.actor_id],
      ['member.sync', actor.actor_type, actor.actor_id],
      ['member.sync', actor.actor_type, actor.actor_id],
      ['member.remove', actor.actor_type, actor.actor_id],
      ['team.suspend', actor.actor_type, actor.actor_id],
    ]);
    // The operator's own sync call is still the operator's.
    expect((await api(OPERATOR, 'PUT', '/teams/by-external-id/org_tok', { name: 'Tok', plan: 'pro' })).status).toBe(
      200,
    );
    const last = (await auditRows(teamId)).at(-1)!;
    expect([last.action, last.actor_type, last.actor_id]).toEqual(['team.sync', 'operator', null]);
  });

  it('every other admin route answers 403 insufficient_permissions to a sync token, and changes nothing', async () => {
    const { token } = await server.keyport.syncTokens.issue('narrow', BY_TEST);
    const teamId = (await api(OPERATOR, 'PUT', '/teams/by-external-id/org_narrow', { name: 'N', plan: 'pro' })).body
      .team_id as number;
    const refusals: Array<[string, string, unknown?]> = [
      ['GET', '/teams'],
      ['PATCH', `/teams/${teamId}`, { plan: 'pro' }],
      ['GET', `/teams/${teamId}/members`],
      ['GET', `/teams/${teamId}/clients`],
      ['POST', `/teams/${teamId}/clients`, { name: 'sneaky', kind: 'service_account' }],
      ['GET', `/teams/${teamId}/events`],
      ['GET', `/teams/${teamId}/webhooks`],
      ['GET', '/webhooks'],
      ['POST', '/webhooks', { url: 'https://example.com/hook', events: ['key.created'] }],
      ['GET', '/events/stream'],
      ['GET', '/sync-tokens'],
      ['POST', '/sync-tokens', { name: 'another' }],
    ];
    for (const [method, path, body] of refusals) {
      const res = await api(token, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body, `${method} ${path}`).toEqual({
        error: 'insufficient_permissions',
        message: 'a sync token may call only the sync routes (/api/teams/by-external-id/…)',
      });
    }
    expect(await server.keyport.db('o_auth_clients').where({ team_id: teamId })).toHaveLength(0);
    expect(await server.keyport.db('webhook_endpoints')).toHaveLength(0);
    expect(await server.keyport.db('sync_tokens').where({ name: 'another' })).toHaveLength(0);
  });

  it('the operator makes, lists and revokes sync tokens over the admin API: the token once, audited product-wide', async () => {
    const made = await api(OPERATOR, 'POST', '/sync-tokens', { name: 'crm sync' });
    expect(made.status).toBe(201);
    expect(made.headers.get('cache-control')).toBe('no-store');
    expect(made.body).toEqual({
      token_id: expect.any(Number),
      name: 'crm sync',
      created_at: expect.any(String),
      revoked_at: null,
      token: expect.stringMatching(/^keyport_sync_[A-Za-z0-9_-]{43}$/),
    });
    const { token, token_id: id } = made.body as { token: string; token_id: number };
    expect((await api(token, 'PUT', '/teams/by-external-id/org_api', { name: 'Api', plan: 'pro' })).status).toBe(201);

    const listed = await api(OPERATOR, 'GET', '/sync-tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.data).toContainEqual({
      token_id: id,
      name: 'crm sync',
      created_at: made.body.created_at,
      revoked_at: null,
    });
    expect(JSON.stringify(listed.body)).not.toContain(token);

    expect((await api(OPERATOR, 'DELETE', `/sync-tokens/${id}`)).status).toBe(204);
    expect((await api(token, 'PUT', '/teams/by-external-id/org_api', { name: 'Api', plan: 'pro' })).status).toBe(401);
    expect((await api(OPERATOR, 'DELETE', `/sync-tokens/${id}`)).status).toBe(204);
    expect((await api(OPERATOR, 'DELETE', '/sync-tokens/999999')).body.error).toBe('not_found');
    const notANumber = await api(OPERATOR, 'DELETE', '/sync-tokens/abc');
    expect(notANumber.status).toBe(400);
    expect(notANumber.body.message).toBe('id: must be a token_id (a whole number)');
    expect((await api(OPERATOR, 'POST', '/sync-tokens', { name: '' })).status).toBe(400);

    const audited = await server.keyport
      .db('audit_events')
      .whereIn('action', ['sync_token.create', 'sync_token.revoke'])
      .whereRaw('details like ?', ['%crm sync%'])
      .orderBy('id');
    expect(audited.map((r) => [r.action, r.team_id, r.actor_type, r.actor_id])).toEqual([
      ['sync_token.create', null, 'operator', null],
      ['sync_token.revoke', null, 'operator', null],
    ]);
  });

  it('a revoked sync token answers 401 at once; an unknown one of the same shape too', async () => {
    const { token, view } = await server.keyport.syncTokens.issue('short-lived', BY_TEST);
    const put = () => api(token, 'PUT', '/teams/by-external-id/org_rev', { name: 'Rev', plan: 'pro' });
    expect((await put()).status).toBe(201);
    expect((await server.keyport.syncTokens.revoke(view.token_id, BY_TEST)).outcome).toBe('revoked');
    const refused = await put();
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'invalid_token', message: 'the sync token is revoked' });
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="keyport", error="invalid_token"');
    expect((await server.keyport.syncTokens.revoke(view.token_id, BY_TEST)).outcome).toBe('unchanged');

    const forged = `keyport_sync_${randomBytes(32).toString('base64url')}`;
    const unknown = await api(forged, 'PUT', '/teams/by-external-id/org_rev', { name: 'Rev', plan: 'pro' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ error: 'invalid_token', message: 'the sync token is unknown' });
  });

  it('only the SHA-256 of a sync token is stored: the row holds no token', async () => {
    const { token, view } = await server.keyport.syncTokens.issue('hashed', BY_TEST);
    const row = await server.keyport.db('sync_tokens').where({ id: view.token_id }).first();
    expect(row.token_digest).toBe(createHash('sha256').update(token).digest('hex'));
    expect(row.name).toBe('hashed');
    expect(row.revoked_at).toBeNull();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice('keyport_sync_'.length, 'keyport_sync_'.length + 12));
    expect(JSON.stringify(await server.keyport.syncTokens.list())).not.toContain(token);
  });

  it("the team's audit page names the sync token as who synced", async () => {
    const { token, view } = await server.keyport.syncTokens.issue('words', BY_TEST);
    const teamId = (await api(token, 'PUT', '/teams/by-external-id/org_words', { name: 'Words', plan: 'pro' })).body
      .team_id as number;
    await api(token, 'PUT', '/teams/by-external-id/org_words/members/u_w', { email: 'w@words.test', role: 'admin' });
    const password = 'Sync-Token-Words-1';
    await server.keyport.teamService.resetPassword({ teamId, person: { email: 'w@words.test' }, password });
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const signedIn = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'w@words.test', password },
    });
    expect(signedIn.status).toBe(303);
    const page = (await browser.request('/dashboard/audit')).text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(page).toContain(`the product&#39;s sync (token ${view.token_id})`);
    expect(page).toContain('synced the team from the product (plan pro)');
  });
});
