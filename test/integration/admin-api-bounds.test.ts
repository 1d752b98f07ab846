import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');

/**
 * The admin API's bounds on what a key is given (clients/limits.ts, one
 * definition read by the schemas, the dashboard and the CLI): the bound
 * itself is accepted, one past it is 400 invalid_request naming the field,
 * and the generated document advertises the same bound. Written out here as
 * numbers, so a bound that is deleted or moved fails.
 */
describe.each(DATABASES)('admin API bounds on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let keyId: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  const create = (body: Record<string, unknown>) =>
    api('POST', `/teams/${teamId}/clients`, { kind: 'service_account', ...body });
  const patch = (body: Record<string, unknown>) => api('PATCH', `/teams/${teamId}/clients/${keyId}`, body);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, {
      admin_token: OPERATOR,
      plans: { pro: { api_access: true, max_keys: 1000 } },
    });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Bounds', plan: 'pro' })).id;
    keyId = (await create({ name: 'target' })).body.client_id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  const cases = [
    ['name: 200 characters', { name: 'n'.repeat(200) }, { name: 'n'.repeat(201) }, /^name/],
    ['scopes: 50 of them', { scopes: Array(50).fill('api:read') }, { scopes: Array(51).fill('api:read') }, /^scopes/],
    [
      'credits.remaining: 10^12',
      { credits: { remaining: 1e12 } },
      { credits: { remaining: 1e12 + 1 } },
      /^credits\.remaining/,
    ],
    [
      'credits.refill.amount: 10^12',
      { credits: { remaining: 1, refill: { interval: 'day', amount: 1e12 } } },
      { credits: { remaining: 1, refill: { interval: 'day', amount: 1e12 + 1 } } },
      /^credits\.refill\.amount/,
    ],
  ] as const;

  it.each(cases)(
    '%s is accepted on create and update, one more is 400 naming the field',
    async (_bound, at, past, field) => {
      expect((await create(at)).status).toBe(201);
      expect((await patch(at)).status).toBe(200);
      for (const refused of [await create(past), await patch(past)]) {
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe('invalid_request');
        expect(refused.body.message).toMatch(field);
      }
    },
  );

  it('expires_in_days: 3650 is accepted, 3651 is 400 naming the field', async () => {
    expect((await create({ expires_in_days: 3650 })).status).toBe(201);
    const refused = await create({ expires_in_days: 3651 });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/^expires_in_days/);
  });

  it('the generated document advertises the same bounds', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as Record<string, any>;
    const text = JSON.stringify(doc.paths['/api/teams/{team}/clients'].post.requestBody);
    expect(text).toMatch(/"maxLength":200[,}]/);
    expect(text).toMatch(/"maxItems":50[,}]/);
    expect(text).toMatch(/"maximum":3650[,}]/);
    expect(text).toMatch(/"maximum":1000000000000[,}]/);
  });
});
