import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDb } from '../../src/persistence/sql/knex.js';

export interface TestDatabase {
  readonly name: 'sqlite' | 'mysql' | 'postgres';
  /** A fresh, empty database of this kind (a temp file, or a new MySQL or PostgreSQL database). */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-test-'));
    return { url: `sqlite:${join(dir, 'keyport.sqlite')}`, drop: async () => {} };
  },
};

function mysql(baseUrl: string): TestDatabase {
  return {
    name: 'mysql',
    async create() {
      const name = `keyport_test_${randomBytes(6).toString('hex')}`;
      const admin = createDb(baseUrl);
      await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      await admin.destroy();
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          const conn = createDb(baseUrl);
          await conn.raw(`DROP DATABASE IF EXISTS \`${name}\``);
          await conn.destroy();
        },
      };
    },
  };
}

function postgres(baseUrl: string): TestDatabase {
  return {
    name: 'postgres',
    async create() {
      const name = `keyport_test_${randomBytes(6).toString('hex')}`;
      const admin = createDb(baseUrl);
      await admin.raw(`CREATE DATABASE "${name}"`);
      await admin.destroy();
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        async drop() {
          const conn = createDb(baseUrl);
          // FORCE: a keyport process killed mid-test may still hold connections.
          await conn.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          await conn.destroy();
        },
      };
    },
  };
}

/**
 * The databases the storage-facing tests run on: SQLite always, MySQL when
 * TEST_MYSQL_URL is set, PostgreSQL when TEST_POSTGRES_URL is set (`.ci/run`
 * sets both). Tests iterate this list, so the same test code checks each.
 */
export const DATABASES: readonly TestDatabase[] = [
  sqlite,
  ...(process.env.TEST_MYSQL_URL ? [mysql(process.env.TEST_MYSQL_URL)] : []),
  ...(process.env.TEST_POSTGRES_URL ? [postgres(process.env.TEST_POSTGRES_URL)] : []),
];
