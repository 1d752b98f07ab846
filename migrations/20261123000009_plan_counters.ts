import type { Knex } from 'knex';

/**
 * Plan budgets: one row per client holding its three fixed windows (start,
 * in epoch seconds, and count), so a request is counted in all three by one
 * upsert instead of three read-modify-write transactions.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('plan_counters', (t) => {
    const id = t.string('client_id', 64).notNullable().primary();
    if (mysql) id.collate('utf8mb4_bin');
    for (const i of [0, 1, 2]) {
      t.bigInteger(`s${i}`).notNullable();
      t.integer(`n${i}`).notNullable();
    }
    t.index(['s2']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('plan_counters');
}
