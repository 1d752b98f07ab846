import type { Knex } from 'knex';

/**
 * One row per reminder that a key expires (or that its rotation grace ends):
 * the unique key (client_id, kind, threshold_days, expires_at) makes every
 * keyport process insert the same row, so each reminder exists once.
 * `announced_at` is set, once, in the transaction that publishes
 * `key.expiring`; `sent_at` once the mail went out. `claimed_until` is the
 * lease of the process sending it: a failed send leaves `sent_at` null, so a
 * later run sends it again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('key_reminders', (t) => {
    t.increments('id').primary();
    t.string('client_id', 64).notNullable();
    t.string('kind', 16).notNullable();
    t.integer('threshold_days').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('announced_at').nullable();
    t.bigInteger('claimed_until').nullable();
    t.bigInteger('sent_at').nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.unique(['client_id', 'kind', 'threshold_days', 'expires_at'], { indexName: 'key_reminders_once' });
    t.index(['sent_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('key_reminders');
}
