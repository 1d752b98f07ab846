import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');

/** ALM Octane's document (003, "Working with API access keys"), its requests as written, on keyport's paths. */
describe.each(DATABASES)('ALM Octane’s REST shape on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let team: number;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/teams/${team}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
  };
  const tokenStatus = async (clientId: string, secret: string) =>
    (
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(clientId, secret) },
      )
    ).status;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 50 } },
    });
    team = (await server.keyport.teamService.createTeam({ name: 'Octane', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('create in Octane’s {"data": [...]} form answers {total_count, data: [{type, id, client_id, is_valid}], exceeds_total_count}', async () => {
    // Octane's workspace role ids name roles (issue 28 item 2): the team's own, made first, here "DevOps Admin".
    const role = await api('POST', '/roles', { name: 'DevOps Admin', permissions: ['pipelines:*'] });
    expect(role.status).toBe(201);
    const res = await api('POST', '/clients?fields=client_id', {
      data: [
        {
          client_secret: '9011@83sd!f1042ds+f19fg86M',
          name: 'myKey03',
          expiration: new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
          workspace_roles: { data: [{ type: 'workspace_role', id: role.body.id }] },
        },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ total_count: 1, exceeds_total_count: false });
    const [item] = res.body.data;
    expect(item).toMatchObject({ type: 'api_access', is_valid: true });
    expect(item.id).toBe(item.client_id);
    expect(item.roles).toEqual([role.body.id]);
    // The chosen secret is for /token only, and the answer says so.
    expect(item.client_secret_note).toMatch(/not an API key.*\/token/);
    expect(await tokenStatus(item.client_id, '9011@83sd!f1042ds+f19fg86M')).toBe(200);
  });

  it('list items carry "type": "api_access" and "id"', async () => {
    await server.keyport.clientService.createServiceAccount({ teamId: team, name: 'listed' });
    const res = await api('GET', '/clients');
    expect(res.status).toBe(200);
    expect(res.body.data.length).toBeGreaterThan(0);
    for (const item of res.body.data) expect(item).toMatchObject({ type: 'api_access', id: item.client_id });
  });

  it('PUT {"is_valid": false} revokes; PUT {"is_valid": true, "client_secret": …} regenerates keeping the client id', async () => {
    const made = await api('POST', '/clients', { data: [{ client_secret: 'Old-Secret-123!', name: 'rotate-me' }] });
    const id = made.body.data[0].id as string;

    const revoked = await api('PUT', `/clients/${id}`, { is_valid: false });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ type: 'api_access', id, client_id: id, is_valid: false });
    expect(await tokenStatus(id, 'Old-Secret-123!')).toBe(401);

    const regenerated = await api('PUT', `/clients/${id}?fields=client_id`, {
      is_valid: true,
      client_secret: 'kj@s$dfS124GDd35',
    });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body).toMatchObject({ type: 'api_access', id, client_id: id, is_valid: true });
    expect(regenerated.body.client_secret_note).toMatch(/not an API key/);
    expect(await tokenStatus(id, 'kj@s$dfS124GDd35')).toBe(200);
    expect(await tokenStatus(id, 'Old-Secret-123!')).toBe(401);
  });

  it('PUT with anything else answers 400 and changes nothing', async () => {
    const made = await api('POST', '/clients', { data: [{ client_secret: 'Keep-Secret-123!', name: 'keep' }] });
    const id = made.body.data[0].id as string;
    const res = await api('PUT', `/clients/${id}`, { is_valid: 'yes' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(await tokenStatus(id, 'Keep-Secret-123!')).toBe(200);
  });
});
