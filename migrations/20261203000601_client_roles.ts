import type { Knex } from 'knex';

/**
 * The roles a key holds (issue 28 item 2): a JSON list of role ids, the
 * product's (config) and its team's own (team_roles.id as text). NULL: none.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.text('roles').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('roles');
  });
}
