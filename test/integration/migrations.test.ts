import { describe, expect, it } from 'vitest';
import { createDb } from '../../src/persistence/sql/knex.js';
import { migrateLatest, migrateRollbackAll, migrationState } from '../../src/persistence/sql/migrate.js';
import { DATABASES } from '../helpers/databases.js';

describe.each(DATABASES)('migrations on $name', (database) => {
  it('apply, report current, and roll back to nothing', async () => {
    const { url, drop } = await database.create();
    const db = createDb(url);
    try {
      expect(await migrationState(db)).toBe('empty');
      await migrateLatest(db);
      expect(await migrationState(db)).toBe('current');
      await migrateRollbackAll(db);
      expect(await db.schema.hasTable('o_auth_clients')).toBe(false);
    } finally {
      await db.destroy();
      await drop();
    }
  });

  it('ids and tokens compare byte for byte (a client id differing only in case is another client)', async () => {
    const { url, drop } = await database.create();
    const db = createDb(url);
    try {
      await migrateLatest(db);
      await db('teams').insert({ id: 1, name: 't', plan: 'pro', created_at: 1 });
      await db('o_auth_clients').insert({ client_id: 'kp_AbC', team_id: 1, name: 'k', created_at: 1 });
      expect(await db('o_auth_clients').where({ client_id: 'kp_abc' }).first()).toBeUndefined();
      await db('oidc_payloads').insert({
        id: 'Tok',
        type: 'AccessToken',
        payload: '{"accountId":"1"}',
        expires_at: 9e9,
      });
      expect(await db('oidc_payloads').where({ id: 'tok' }).first()).toBeUndefined();
    } finally {
      await db.destroy();
      await drop();
    }
  });
});
