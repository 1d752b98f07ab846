import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = randomBytes(24).toString('hex');

/** Issue 22 item 7: a change is a domain event; the CLI's changes are audited from it, the admin API's once. */
describe.each(DATABASES)('changes as domain events on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let db: Db;
  let drop: () => Promise<void>;
  let url: string;

  const json = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const auditRows = (clientId: string, action: string) =>
    db('audit_events').where({ client_id: clientId, action }).select('actor_type', 'actor_id', 'team_id');
  const keyEventRows = (clientId: string) => db('key_events').where({ client_id: clientId }).select('id');

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    url = created.url;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-cli-audit-'));
    env = { PATH: process.env.PATH, DATABASE_URL: url, KEYS_DIR: join(dir, 'keys') };
    db = createDb(url);
  });

  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  it('a CLI clientrevoke leaves one audit row by the operator (CLI) and one key_events row', async () => {
    const team = await json('teamadd', '-name', 'Acme', '-plan', 'pro');
    const sa = await json('serviceaccountadd', '-team', String(team.team_id), '-name', 'ci');
    const clientId = String(sa.client_id);
    expect(await auditRows(clientId, 'client.create')).toEqual([
      { actor_type: 'operator', actor_id: 'cli', team_id: team.team_id },
    ]);
    expect(await keyEventRows(clientId)).toHaveLength(0);

    await json('clientrevoke', '-client', clientId);

    expect(await auditRows(clientId, 'client.revoke')).toEqual([
      { actor_type: 'operator', actor_id: 'cli', team_id: team.team_id },
    ]);
    expect(await keyEventRows(clientId)).toHaveLength(1);
  });

  it('a revocation through the admin API leaves exactly one audit row and one key_events row', async () => {
    let server: TestServer | undefined;
    try {
      server = await startServer(url, { admin_token: OPERATOR, plans: { pro: { api_access: true, max_keys: 50 } } });
      const team = await server.keyport.teamService.createTeam({ name: 'Api', plan: 'pro' });
      const headers = { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' };
      const created = await fetch(`${server.url}/api/teams/${team.id}/clients`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ kind: 'service_account' }),
      });
      expect(created.status).toBe(201);
      const clientId = ((await created.json()) as { client_id: string }).client_id;
      const revoked = await fetch(`${server.url}/api/teams/${team.id}/clients/${clientId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${OPERATOR}` },
      });
      expect(revoked.status).toBe(204);

      expect(await auditRows(clientId, 'client.revoke')).toHaveLength(1);
      expect(await auditRows(clientId, 'client.create')).toHaveLength(1);
      expect(await keyEventRows(clientId)).toHaveLength(1);
    } finally {
      await server?.close();
    }
  });
});
