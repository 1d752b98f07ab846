import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';

/** `teamadd -external-id`: how an operator links a team to the product's id (issue 26, hand-off and sign-in). */
describe.each(DATABASES)('teamadd -external-id on $name', (database) => {
  let env: NodeJS.ProcessEnv;
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-cli-ext-'));
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: join(dir, 'keys') };
    db = createDb(created.url);
  });
  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  it('stores the external id; a second team with the same one is refused (exit 1) and not created', async () => {
    const first = await runCli(env, 'teamadd', '-name', 'Acme', '-plan', 'pro', '-external-id', 'org_42', '-json');
    expect(first.code, first.stderr).toBe(0);
    const team = JSON.parse(first.stdout) as { team_id: number; external_id: string };
    expect(team.external_id).toBe('org_42');
    expect((await db('teams').where({ id: team.team_id }).first()).external_id).toBe('org_42');

    const again = await runCli(env, 'teamadd', '-name', 'Copy', '-plan', 'pro', '-external-id', 'org_42');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/another team has the external id org_42/);
    expect(await db('teams').where({ name: 'Copy' }).first()).toBeUndefined();
  });
});
