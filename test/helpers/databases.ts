import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createDb } from '../../src/persistence/sql/knex.js';

export interface TestDatabase {
  readonly name: 'sqlite' | 'mysql';
  /** A fresh, empty database of this kind (a temp file, or a new MySQL schema). */
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

/**
 * The databases the storage-facing tests run on: SQLite always, MySQL when
 * TEST_MYSQL_URL is set (`.ci/run` sets it). Tests iterate this list, so the
 * same test code checks both.
 */
export const DATABASES: readonly TestDatabase[] = process.env.TEST_MYSQL_URL
  ? [sqlite, mysql(process.env.TEST_MYSQL_URL)]
  : [sqlite];
