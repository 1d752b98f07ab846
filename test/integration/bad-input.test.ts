import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, startServer, type TestServer } from '../helpers/server.js';
import { Browser } from '../helpers/auth-flow.js';

const OPERATOR = 'p'.repeat(40);
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const HUGE_PAGE = '4611686018427387904';

/** A POST with a body that its Content-Encoding cannot decode (fetch would encode nothing itself). */
function postGarbled(url: string, encoding: string, contentType: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': contentType, 'content-encoding': encoding, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }));
      },
    );
    req.on('error', reject);
    req.end(Buffer.from('this is not compressed at all, not even a little'));
  });
}

/** Issue 23 item 11: a client's undecodable body or absurd page number is a 400, and nothing logs it as an error. */
describe.each(DATABASES)('bad input is a 4xx on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let rs: { id: string; secret: string };
  let teamId: number;
  let consoleErrors: ReturnType<typeof vi.spyOn>;
  const password = 'Bad-Input-Pass-1';

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR, log_level: 'info' }, { captureLog: true });
    const team = await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' });
    teamId = team.id;
    await server.keyport.teamService.addPerson({ teamId: team.id, email: 'admin@acme.test', password, role: 'admin' });
    const made = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: made.client.client_id, secret: made.clientSecret! };
    consoleErrors = vi.spyOn(console, 'error');
  });
  afterAll(async () => {
    consoleErrors?.mockRestore();
    await server?.close();
    await drop?.();
  });

  it.each(['gzip', 'deflate', 'br'])(
    'an undecodable %s body answers 400 at /keys/verify, the admin API, the dashboard and the sign-in forms',
    async (encoding) => {
      const verify = await postGarbled(`${server.url}/keys/verify`, encoding, 'application/json', {
        authorization: basic(rs.id, rs.secret),
      });
      expect(verify.status).toBe(400);
      expect(JSON.parse(verify.text)).toMatchObject({
        error: 'invalid_request',
        message: expect.stringMatching(/body/),
      });

      const admin = await postGarbled(`${server.url}/api/teams/${teamId}/clients`, encoding, 'application/json', {
        authorization: `Bearer ${OPERATOR}`,
      });
      expect(admin.status).toBe(400);
      expect(JSON.parse(admin.text)).toMatchObject({ error: 'invalid_request' });

      const dashboard = await postGarbled(
        `${server.url}/dashboard/signin`,
        encoding,
        'application/x-www-form-urlencoded',
      );
      expect(dashboard.status).toBe(400);
      expect(dashboard.type).toMatch(/^text\/html/);
      expect(dashboard.text).toMatch(/could not be decoded/);

      const signIn = await postGarbled(
        `${server.url}/interaction/some-interaction-id/login`,
        encoding,
        'application/x-www-form-urlencoded',
      );
      expect(signIn.status).toBe(400);
      expect(signIn.text).toMatch(/could not be decoded/);
    },
  );

  it('/dashboard/audit with a page past any number answers 400 and runs no query with it', async () => {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'admin@acme.test', password },
    });
    expect(res.status).toBe(303);
    const huge = await browser.request(`/dashboard/audit?page=${HUGE_PAGE}`);
    expect(huge.status).toBe(400);
    expect(huge.text).toMatch(/page/);
    for (const page of ['0', '-1', '1.5', 'abc', '1e9'])
      expect((await browser.request(`/dashboard/audit?page=${page}`)).status, page).toBe(400);
    expect((await browser.request('/dashboard/audit?page=1')).status).toBe(200);
    expect((await browser.request('/dashboard/audit')).status).toBe(200);
  });

  it('nothing of this was logged at error level, and no log line holds a query or its values', async () => {
    await vi.waitFor(() => expect(server.logLines().some((l) => l.msg === 'request')).toBe(true));
    const lines = server.logLines();
    const errors = lines.filter((l) => l.level === 'error' || l.level === 'fatal');
    expect(errors).toEqual([]);
    expect(consoleErrors).not.toHaveBeenCalled();
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/select |insert |update |offset/i);
    expect(text).not.toContain(HUGE_PAGE);
    expect(lines.filter((l) => l.status === 400).length).toBeGreaterThanOrEqual(12);
  });

  it('a failed query’s error names the statement with ? marks, never the values bound to it', async () => {
    const value = 'value-that-must-not-be-logged';
    const failed = await server.keyport
      .db('no_such_table')
      .where({ secret: value })
      .first()
      .catch((err: Error) => err);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/no_such_table/);
    expect((failed as Error).message).not.toContain(value);
  });
});
