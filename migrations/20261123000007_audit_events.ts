import type { Knex } from 'knex';

/** Who did what to which key, when and from where. Never holds a secret. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    t.integer('team_id').unsigned().nullable();
    t.string('actor_type', 16).notNullable();
    t.string('actor_id', 64).nullable();
    t.string('action', 40).notNullable();
    t.string('client_id', 64).nullable();
    t.integer('status').notNullable();
    t.string('ip', 64).nullable();
    t.text('details').nullable();
    t.bigInteger('created_at').notNullable();
    t.index(['team_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
}
