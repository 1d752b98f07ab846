import type { Knex } from 'knex';

/**
 * A key's metadata (issue 28 item 3): the customer's own small JSON object
 * (at most 1 KB serialized, checked by clients/meta.ts), stored as text so
 * every database keeps it alike. NULL: no metadata.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.text('meta').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('meta');
  });
}
