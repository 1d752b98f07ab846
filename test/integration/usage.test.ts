import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

describe.each(DATABASES)('key usage on $name', (database) => {
  let url: string;
  let drop: () => Promise<void>;
  let server: TestServer;
  let sa: Awaited<ReturnType<typeof seedServiceAccount>>;
  let rs: { id: string; secret: string };

  const grant = () =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(sa.clientId, sa.clientSecret) },
    );
  const row = () => server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).first();

  beforeAll(async () => {
    ({ url, drop } = await database.create());
    // The batch is written at 5 s here, the longest lag allowed, so the test decides when it flushes.
    server = await startServer(url, { usage_flush_seconds: 5 });
    sa = await seedServiceAccount(server.keyport);
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });

  afterAll(async () => {
    await server.close();
    await drop();
  });

  it('counts token grants and introspections of the key’s tokens, written in a batch, not per request', async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = (await grant()).body.access_token as string;
    await grant();
    await postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });
    // Nothing is written by the requests themselves…
    expect(Number((await row()).usage_count)).toBe(0);
    // …the batch writes it (every second; flushed here rather than waited for).
    await server.keyport.usage.flush();
    const stored = await row();
    expect(Number(stored.usage_count)).toBe(3);
    expect(Number(stored.last_used_at)).toBeGreaterThanOrEqual(before);
  });

  it('a flush the database refuses loses nothing: the next one writes it, once', async () => {
    const count = Number((await row()).usage_count);
    await grant();
    await grant();
    const { db } = server.keyport;
    await db.schema.renameTable('o_auth_clients', 'o_auth_clients_away');
    try {
      await server.keyport.usage.flush();
    } finally {
      await db.schema.renameTable('o_auth_clients_away', 'o_auth_clients');
    }
    expect(Number((await row()).usage_count)).toBe(count);
    await server.keyport.usage.flush();
    expect(Number((await row()).usage_count)).toBe(count + 2);
  });

  it('failed grants are not usage', async () => {
    const count = Number((await row()).usage_count);
    await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(sa.clientId, 'wrong') },
    );
    await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'keys:manage' },
      { authorization: basic(sa.clientId, sa.clientSecret) },
    );
    await server.keyport.usage.flush();
    expect(Number((await row()).usage_count)).toBe(count);
  });

  it('a clean shutdown writes what is pending, and usage survives a restart; the admin API and clientlist show it', async () => {
    const count = Number((await row()).usage_count);
    await grant();
    await server.close();
    server = await startServer(url, { admin_token: 'o'.repeat(40), usage_flush_seconds: 5 });
    expect(Number((await row()).usage_count)).toBe(count + 1);

    const res = await fetch(`${server.url}/api/teams/${sa.team.id}/clients/${sa.clientId}`, {
      headers: { authorization: `Bearer ${'o'.repeat(40)}` },
    });
    const view = (await res.json()) as { usage_count: number; last_used_at: string };
    expect(view.usage_count).toBe(count + 1);
    expect(Date.parse(view.last_used_at)).toBeGreaterThan(0);

    const { stdout } = await run(process.execPath, [CLI, 'clientlist', '-team', String(sa.team.id), '-json'], {
      env: { PATH: process.env.PATH, DATABASE_URL: url, KEYS_DIR: server.config.keysDir },
    });
    const listed = JSON.parse(stdout) as {
      data: Array<{ client_id: string; usage_count: number; last_used_at: string | null }>;
    };
    expect(listed.data.find((c) => c.client_id === sa.clientId)).toMatchObject({
      usage_count: count + 1,
      last_used_at: view.last_used_at,
    });
  });
});
