import type { Knex } from 'knex';

/**
 * The clients table of CONTRACT.md. Runbooks insert rows by hand with only
 * client_id, client_secret_hash or client_r_s_a_public_key, redirect_uri and
 * team_id, so every other column is nullable or has a default.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('o_auth_clients', (t) => {
    // Byte-for-byte identity: a binary collation on MySQL (SQLite compares
    // bytes by default). The store also compares in code, as MySQL's
    // PAD SPACE collations would let 'sa1 ' match 'sa1'.
    const id = t.string('client_id', 64).notNullable().primary();
    if (mysql) id.collate('utf8mb4_bin');
    t.string('client_secret_hash', 100).nullable();
    t.text('client_r_s_a_public_key').nullable();
    t.text('redirect_uri').nullable();
    t.integer('team_id').unsigned().nullable().references('teams.id');
    t.integer('user_id').unsigned().nullable().references('users.id');
    t.string('kind', 32).nullable();
    t.string('name', 200).nullable();
    t.string('environment', 8).notNullable().defaultTo('prod');
    t.string('scopes', 1000).nullable();
    t.string('secret_hint', 32).nullable();
    t.bigInteger('created_at').nullable();
    t.bigInteger('expires_at').nullable();
    t.bigInteger('revoked_at').nullable();
    t.bigInteger('last_used_at').nullable();
    t.bigInteger('usage_count').notNullable().defaultTo(0);
    t.index(['team_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('o_auth_clients');
}
