import type { Knex } from 'knex';

/**
 * Emails are stored in one canonical form (NFC, trimmed, lower case) and
 * compared byte for byte. MySQL's default collation would find `ada@…` for
 * `adä@…` (accent-insensitive); SQLite compares bytes already.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.driverName !== 'mysql2') return;
  await knex.raw('ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.driverName !== 'mysql2') return;
  await knex.raw('ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 NULL');
}
