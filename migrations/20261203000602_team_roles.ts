import type { Knex } from 'knex';

/**
 * A team's own roles (issue 28 item 2): a named set of permissions (a JSON
 * list of `resource:action`), made through the admin API or the dashboard.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('team_roles', (t) => {
    t.increments('id').primary();
    t.integer('team_id').unsigned().notNullable().references('teams.id').onDelete('CASCADE').index();
    t.string('name', 100).notNullable();
    t.text('permissions').nullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('team_roles');
}
