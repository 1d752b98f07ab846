import type { Knex } from 'knex';

/**
 * The product's sync tokens (issue 26 item 3): a product-wide Bearer token
 * for the sync routes only. Only the SHA-256 of the token is kept (hex);
 * revoked tokens stay listed, with `revoked_at`.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('sync_tokens', (t) => {
    t.increments('id').primary();
    t.string('name', 200).notNullable();
    const digest = t.string('token_digest', 64).notNullable().unique();
    if (mysql) digest.collate('utf8mb4_bin');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sync_tokens');
}
