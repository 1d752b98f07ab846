import type { Knex } from 'knex';

/**
 * A key's own permissions (issue 28 item 2): a JSON list of `resource:action`
 * (clients/permissions.ts), as text so every database keeps it alike. NULL: none.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.text('permissions').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('permissions');
  });
}
