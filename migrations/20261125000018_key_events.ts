import type { Knex } from 'knex';

/**
 * One row per change to a client made through keyport (revoke, rotate,
 * scopes, expiry, keys): every keyport process reads the recent rows and
 * pushes them to the guards that stream `/keys/events`, so a guard drops
 * what it cached about that key. Rows older than an hour are swept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('key_events', (t) => {
    t.increments('id').primary();
    t.string('client_id', 64).notNullable();
    t.bigInteger('created_at_ms').notNullable();
    t.index(['created_at_ms']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('key_events');
}
