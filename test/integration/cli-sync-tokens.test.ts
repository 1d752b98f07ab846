import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Issue 26 item 3: synctokenadd prints a token once, synctokenlist never does, synctokenrevoke ends it at once. */
describe.each(DATABASES)('sync token commands on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;

  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, any>;
  };
  const put = (token: string, ext: string) =>
    fetch(`${server.url}/api/teams/by-external-id/${ext}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Cli Tok', plan: 'pro' }),
    });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('synctokenadd, a sync call with the token, synctokenlist without it, synctokenrevoke: 401 at once; all audited', async () => {
    const made = await json('synctokenadd', '-name', 'billing backend');
    expect(made).toMatchObject({ token_id: expect.any(Number), name: 'billing backend', revoked_at: null });
    const token = made.token as string;
    expect(token).toMatch(/^keyport_sync_[A-Za-z0-9_-]{43}$/);
    const row = await server.keyport.db('sync_tokens').where({ id: made.token_id }).first();
    expect(row.token_digest).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);

    const created = await put(token, 'org_cli_tok');
    expect(created.status).toBe(201);
    const teamId = ((await created.json()) as { team_id: number }).team_id;
    const synced = await server.keyport.db('audit_events').where({ team_id: teamId, action: 'team.sync' }).first();
    expect([synced.actor_type, synced.actor_id]).toEqual(['sync_token', String(made.token_id)]);

    const listed = await json('synctokenlist');
    expect(listed.data).toEqual([
      { token_id: made.token_id, name: 'billing backend', created_at: made.created_at, revoked_at: null },
    ]);
    const words = await runCli(env, 'synctokenlist');
    expect(words.stdout).toMatch(new RegExp(`${made.token_id}\\s+billing backend`));
    expect(words.stdout + JSON.stringify(listed)).not.toContain(token);

    const revoked = await json('synctokenrevoke', '-id', String(made.token_id));
    expect(revoked).toMatchObject({ token_id: made.token_id, outcome: 'revoked', revoked_at: expect.any(String) });
    const refused = await put(token, 'org_cli_tok');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'invalid_token', message: 'the sync token is revoked' });
    expect(await json('synctokenrevoke', '-id', String(made.token_id))).toMatchObject({ outcome: 'unchanged' });
    expect((await runCli(env, 'synctokenlist')).stdout).toContain(`revoked ${revoked.revoked_at as string}`);

    // Made and revoked once each, product-wide (team null), by the operator's CLI.
    const audited = await server.keyport
      .db('audit_events')
      .whereIn('action', ['sync_token.create', 'sync_token.revoke'])
      .orderBy('id');
    expect(audited.map((r) => [r.action, r.team_id, r.actor_type, r.actor_id])).toEqual([
      ['sync_token.create', null, 'operator', 'cli'],
      ['sync_token.revoke', null, 'operator', 'cli'],
    ]);
    expect(JSON.stringify(audited)).not.toContain(token);
  });

  it('refusals: no name, an id that is no number, an unknown id', async () => {
    const noName = await runCli(env, 'synctokenadd', '-json');
    expect(noName.code).toBe(1);
    expect(JSON.parse(noName.stdout).error).toBe('invalid_request');
    const blank = await runCli(env, 'synctokenadd', '-name', '  ', '-json');
    expect(blank.code).toBe(1);
    expect(JSON.parse(blank.stdout).error).toBe('invalid_request');
    const notNumber = await runCli(env, 'synctokenrevoke', '-id', 'abc', '-json');
    expect(notNumber.code).toBe(1);
    expect(JSON.parse(notNumber.stdout).error).toBe('invalid_request');
    const unknown = await runCli(env, 'synctokenrevoke', '-id', '999999', '-json');
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error).toBe('not_found');
  });
});
