import type { Knex } from 'knex';

/**
 * Webhooks (issue 26 item 4): the endpoints teams and the operator register,
 * and the outbox of deliveries, written in the transaction of the change they
 * tell of and delivered at least once by the delivery job of any process.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.string('id', 40).primary();
    // Null: the operator's, product-wide (hears every team).
    t.integer('team_id').unsigned().nullable().references('teams.id');
    t.string('url', 2048).notNullable();
    t.string('events', 1000).notNullable();
    // The whsec_ secret, AES-256-GCM under a key derived from KEYS_DIR (never in clear).
    t.string('secret_sealed', 300).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('failing_since').nullable();
    t.bigInteger('disabled_at').nullable();
    t.index(['team_id']);
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.string('id', 40).primary();
    t.string('endpoint_id', 40).notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.string('event_type', 64).notNullable();
    t.text('payload').notNullable();
    // pending | delivered | failed
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('next_attempt_at').nullable();
    // Held by one process while it delivers: a conditional UPDATE takes it.
    t.bigInteger('claimed_until').nullable();
    t.string('claim', 40).nullable();
    t.integer('last_status_code').nullable();
    t.integer('last_latency_ms').nullable();
    t.string('last_error', 200).nullable();
    t.bigInteger('delivered_at').nullable();
    t.index(['status', 'next_attempt_at']);
    t.index(['endpoint_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('webhook_endpoints');
}
