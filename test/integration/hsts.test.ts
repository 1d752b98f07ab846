import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

const HSTS = 'max-age=63072000; includeSubDomains';
const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;

/**
 * Strict-Transport-Security (issue 23 item 15): on every answer when ISSUER is
 * https (keyport is reached over TLS, usually via a proxy), never when http.
 */
describe.each([
  { scheme: 'https', expected: HSTS },
  { scheme: 'http', expected: null },
])('Strict-Transport-Security with an $scheme issuer', ({ scheme, expected }) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let account: Awaited<ReturnType<typeof seedServiceAccount>>;
  let rs: { id: string; secret: string };

  beforeAll(async () => {
    const created = await sqlite.create();
    drop = created.drop;
    const overrides = scheme === 'https' ? { issuer: 'https://keyport.example' } : {};
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 10 } }, ...overrides });
    account = await seedServiceAccount(server.keyport);
    const created2 = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: created2.client.client_id, secret: created2.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('on /token (success and error), /keys/verify, the dashboard, discovery and a 404', async () => {
    const answers = [
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        {
          authorization: basic(account.clientId, account.clientSecret),
        },
      ),
      await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials' },
        {
          authorization: basic(account.clientId, 'wrong'),
        },
      ),
      await fetch(`${server.url}/keys/verify`, {
        method: 'POST',
        headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
        body: JSON.stringify({ key: account.clientSecret }),
      }),
      await fetch(`${server.url}/dashboard`, { redirect: 'manual' }),
      await fetch(`${server.url}/.well-known/openid-configuration`),
      await fetch(`${server.url}/no-such-page`),
    ];
    const statuses = answers.map((res) => res.status);
    expect(statuses[0]).toBe(200);
    expect(statuses[1]).toBe(401);
    expect(statuses[2]).toBe(200);
    expect(statuses[4]).toBe(200);
    expect(statuses[5]).toBe(404);
    for (const res of answers) expect(res.headers.get('strict-transport-security')).toBe(expected);
  });
});
