import type { Knex } from 'knex';

/**
 * Each signed secret-scanning report keyport acted on, by the SHA-256 of its
 * raw body (issue 28 item 4): GitHub's partner protocol carries no timestamp
 * or nonce, so the same body again is a replay and is refused. The primary key
 * makes two copies racing each other end with one winner.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('leak_reports', (t) => {
    t.string('body_digest', 64).primary();
    t.string('scanner', 16).notNullable();
    t.integer('tokens').notNullable();
    t.bigInteger('received_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('leak_reports');
}
