import type { Knex } from 'knex';

/** People (email + bcrypt password) and service-account users (no login). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.string('kind', 32).notNullable();
    t.string('email', 254).nullable().unique();
    t.string('password_hash', 100).nullable();
    t.string('name', 200).nullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
