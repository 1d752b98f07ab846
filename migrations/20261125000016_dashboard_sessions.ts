import type { Knex } from 'knex';

/**
 * Dashboard sign-ins: a session is found by the SHA-256 of its cookie value,
 * so a copy of the table signs nobody in. `last_form_nonce` makes a form that
 * shows a secret (create, rotate) work once: reloading its answer never
 * creates another key or shows the secret again.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('dashboard_sessions', (t) => {
    const id = t.string('id', 64).notNullable().primary();
    if (mysql) id.collate('utf8mb4_bin');
    t.integer('user_id').notNullable();
    t.integer('team_id').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.string('last_form_nonce', 64).nullable();
    t.index(['last_seen_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dashboard_sessions');
}
