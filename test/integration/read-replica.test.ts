import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresReplica, type PostgresReplica } from '../helpers/postgres-replica.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const DB = 'keyport';
const settings = {
  plans: { pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] } },
};

/**
 * Issue 25 item 4: DATABASE_READ_URL names a streaming replica (PostgreSQL 15,
 * started by this test). Hot reads go there; a miss there is read on the primary.
 */
describe('hot reads on a PostgreSQL streaming replica', () => {
  let pg: PostgresReplica;
  let server: TestServer;
  let teamId: number;
  let rs: { id: string; secret: string };

  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const newKey = async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** Rows of `client_id` on the standby: 0 proves the replica has not replayed its creation. */
  const onStandby = (clientId: string) =>
    Number(pg.sql('standby', `SELECT count(*) FROM o_auth_clients WHERE client_id = '${clientId}'`, DB));
  /** Statements run on one server whose text contains `fragment` (pg_stat_statements, per server). */
  const calls = (on: 'primary' | 'standby', fragment: string) =>
    Number(
      pg.sql(
        on,
        `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%${fragment}%' AND query NOT LIKE '%pg_stat_statements%'`,
        DB,
      ),
    );
  const reset = () => {
    pg.sql('primary', 'SELECT pg_stat_statements_reset()', DB);
    pg.sql('standby', 'SELECT pg_stat_statements_reset()', DB);
  };

  beforeAll(async () => {
    pg = await startPostgresReplica();
    pg.sql('primary', `CREATE DATABASE ${DB}`);
    pg.sql('primary', 'CREATE EXTENSION pg_stat_statements', DB);
    server = await startServer(pg.url('primary', DB), {
      ...settings,
      database_read_url: pg.url('standby', DB),
    });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    await pg.caughtUp();
  }, 120_000);
  afterAll(async () => {
    pg?.resumeReplay();
    await server?.close();
    await pg?.stop();
  });

  it('a key created on the primary verifies at once while the replica lags (replay paused): no NOT_FOUND', async () => {
    await pg.pauseReplay();
    try {
      const key = await newKey();
      expect(onStandby(key.id)).toBe(0);
      const res = await verify(key.secret);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ valid: true, code: 'VALID', client_id: key.id });
    } finally {
      pg.resumeReplay();
    }
  });

  it('a client created while the replica lags authenticates at /token, and its new access token is found at once', async () => {
    await pg.pauseReplay();
    try {
      const key = await newKey();
      expect(onStandby(key.id)).toBe(0);
      const token = await postForm(
        `${server.url}/token`,
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic(key.id, key.secret) },
      );
      expect(token.status).toBe(200);
      // The token row is on the primary only: introspection and /keys/verify still find it.
      const introspected = await postForm(
        `${server.url}/token/introspection`,
        { token: token.body.access_token as string },
        { authorization: basic(rs.id, rs.secret) },
      );
      expect(introspected.body).toMatchObject({ active: true, client_id: key.id });
      expect((await verify(token.body.access_token as string)).body).toMatchObject({ valid: true, client_id: key.id });
    } finally {
      pg.resumeReplay();
    }
  });

  it('once replicated, the hot reads (key by digest, client by id, access token by value) run on the standby, not the primary', async () => {
    const key = await newKey();
    await pg.caughtUp();
    reset();
    for (let i = 0; i < 5; i++) expect((await verify(key.secret)).body).toMatchObject({ valid: true });
    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(key.id, key.secret) },
    );
    expect(token.status).toBe(200);
    await pg.caughtUp();
    const introspected = await postForm(
      `${server.url}/token/introspection`,
      { token: token.body.access_token as string },
      { authorization: basic(rs.id, rs.secret) },
    );
    expect(introspected.body).toMatchObject({ active: true, client_id: key.id });
    // The client-credentials token is found on the standby. (Introspection first tries the value as
    // another token model: that miss is read again on the primary, by the rule above.)
    expect(calls('standby', 'FROM oidc_payloads WHERE (type, id)')).toBeGreaterThanOrEqual(1);
    expect(calls('standby', 'key_digest IN')).toBeGreaterThanOrEqual(1);
    expect(calls('primary', 'key_digest IN')).toBe(0);
    expect(calls('standby', 'o_auth_clients.client_id IN')).toBeGreaterThanOrEqual(1);
    expect(calls('primary', 'o_auth_clients.client_id IN')).toBe(0);
  });

  it('what must be exact stays on the primary: budgets are counted there, and a write never reaches the standby', async () => {
    const key = await newKey();
    await pg.caughtUp();
    reset();
    expect((await verify(key.secret)).body).toMatchObject({ valid: true });
    // The standby is read-only: any write sent there would have failed this request.
    expect(calls('standby', 'INSERT')).toBe(0);
    expect(calls('standby', 'UPDATE')).toBe(0);
    expect(calls('primary', 'INSERT')).toBeGreaterThanOrEqual(1);
  });
});
