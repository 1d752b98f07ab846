import type { Knex } from 'knex';

/**
 * Console sessions, keyed by the SHA-256 of the cookie. `stage` is
 * 'password' between the password and the second factor, 'signed_in' after.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('staff_sessions', (t) => {
    const id = t.string('id', 64).notNullable().primary();
    if (mysql) id.collate('utf8mb4_bin');
    t.integer('staff_id').notNullable();
    t.string('stage', 16).notNullable();
    t.string('pending_totp', 255).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.index(['staff_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staff_sessions');
}
