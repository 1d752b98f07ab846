import type { Knex } from 'knex';

/**
 * Usage of each key for review after a leak: calls per hour by outcome
 * (kept 90 days), and the last source addresses with first and last seen.
 * Written in batches from memory, never once per call.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('key_usage_hourly', (t) => {
    const id = t.string('client_id', 64).notNullable();
    if (mysql) id.collate('utf8mb4_bin');
    t.bigInteger('hour').notNullable();
    for (const outcome of ['valid', 'rate_limited', 'usage_exceeded', 'insufficient_scope'])
      t.bigInteger(outcome).notNullable().defaultTo(0);
    t.primary(['client_id', 'hour']);
    t.index(['hour']);
  });
  await knex.schema.createTable('key_usage_addresses', (t) => {
    const id = t.string('client_id', 64).notNullable();
    if (mysql) id.collate('utf8mb4_bin');
    t.string('address', 64).notNullable();
    t.bigInteger('first_seen').notNullable();
    t.bigInteger('last_seen').notNullable();
    t.bigInteger('count').notNullable();
    t.primary(['client_id', 'address']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('key_usage_addresses');
  await knex.schema.dropTable('key_usage_hourly');
}
