import type { Knex } from 'knex';

/**
 * The ids of the usage batches written (one row per flush of a process's
 * counts): a batch whose COMMIT got no answer is written again under the
 * same id, and the id already here says it was committed, so its calls are
 * not counted twice. Kept for a day (the sweep), long past any retry.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('written_batches', (t) => {
    t.string('id', 36).notNullable().primary();
    t.bigInteger('written_at').notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('written_batches');
}
