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
});
