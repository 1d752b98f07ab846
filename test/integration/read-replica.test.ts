import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariadbReplica } from '../helpers/mariadb-replica.js';
import { startPostgresReplica, type OwnReplica } from '../helpers/postgres-replica.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const DB = 'keyport';
const settings = {
  plans: { pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] } },
};

/** How each engine's replica is made and how each server counts the statements it ran. */
interface Engine {
  readonly name: string;
  start(): Promise<OwnReplica>;
  /** Creates the keyport database on the primary (the replica replays it). */
  setup(r: OwnReplica): void;
  /** Forgets the statement counts on both servers. */
  reset(r: OwnReplica): void;
  /**
   * Runs of hot statements whose text contains `fragment` on one server since the reset;
   * undefined where the server counts them without their text.
   */
  runs(r: OwnReplica, on: 'primary' | 'standby', fragment: string): number | undefined;
  /** Writes (INSERT, UPDATE, DELETE) keyport ran on one server since the reset. */
  writes(r: OwnReplica, on: 'primary' | 'standby'): number;
}

const postgres: Engine = {
  name: 'a PostgreSQL 15 streaming replica',
  start: startPostgresReplica,
  setup(r) {
    r.sql('primary', `CREATE DATABASE ${DB}`);
    r.sql('primary', 'CREATE EXTENSION pg_stat_statements', DB);
  },
  reset(r) {
    r.sql('primary', 'SELECT pg_stat_statements_reset()', DB);
    r.sql('standby', 'SELECT pg_stat_statements_reset()', DB);
  },
  runs: (r, on, fragment) =>
    Number(
      r.sql(
        on,
        `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%${fragment}%' AND query NOT LIKE '%pg_stat_statements%'`,
        DB,
      ),
    ),
  writes: (r, on) =>
    Number(
      r.sql(
        on,
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query ~* '^\\s*(INSERT|UPDATE|DELETE)'",
        DB,
      ),
    ),
};

/**
 * MariaDB's counts: executions of prepared statements (the hot reads are), and
 * the transactions each server wrote to its own binary log. The replica logs no
 * replicated change (no log_slave_updates): a write in its log was sent to it.
 */
const written = new Map<string, number>();
const ownWrites = (r: OwnReplica, on: 'primary' | 'standby') => {
  const id = on === 'primary' ? 1 : 2;
  const position = r.sql(on, 'SELECT @@gtid_binlog_pos');
  const own = position.split(',').find((gtid) => gtid.split('-')[1] === String(id));
  return Number(own?.split('-')[2] ?? 0);
};
const mariadb: Engine = {
  name: 'a MariaDB replica',
  start: startMariadbReplica,
  setup(r) {
    r.sql('primary', `CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
  },
  reset(r) {
    for (const on of ['primary', 'standby'] as const) {
      r.sql(on, 'FLUSH STATUS');
      written.set(on, ownWrites(r, on));
    }
  },
  // MariaDB keeps no text of protocol-prepared statements (performance_schema lists none), only
  // how many ran: on the replica they are keyport's alone (replication applies row events).
  runs: (r, on) =>
    on === 'standby'
      ? Number(
          r.sql(
            on,
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_STMT_EXECUTE'",
          ),
        )
      : undefined,
  writes: (r, on) => ownWrites(r, on) - (written.get(on) ?? 0),
};

/**
 * Issue 25 item 4: DATABASE_READ_URL names a replica started by this test.
 * Hot reads go there; a miss there is read on the primary.
 */
describe.each([postgres, mariadb])('hot reads on $name', (engine) => {
  let pg: OwnReplica;
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
  const calls = (on: 'primary' | 'standby', fragment: string) => engine.runs(pg, on, fragment);
  const reset = () => engine.reset(pg);

  beforeAll(async () => {
    pg = await engine.start();
    engine.setup(pg);
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
    expect(calls('standby', 'o_auth_clients.client_id IN')).toBeGreaterThanOrEqual(1);
    // Where the server names its statements (PostgreSQL): none of these ran on the primary.
    expect(calls('primary', 'key_digest IN') ?? 0).toBe(0);
    expect(calls('primary', 'o_auth_clients.client_id IN') ?? 0).toBe(0);
  });

  it('what must be exact stays on the primary: budgets are counted there, and a write never reaches the standby', async () => {
    const key = await newKey();
    await pg.caughtUp();
    reset();
    expect((await verify(key.secret)).body).toMatchObject({ valid: true });
    // The plan counter upsert ran on the primary; nothing keyport ran on the standby wrote.
    expect(engine.writes(pg, 'standby')).toBe(0);
    expect(engine.writes(pg, 'primary')).toBeGreaterThanOrEqual(1);
  });
});
