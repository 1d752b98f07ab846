import type { Knex } from 'knex';

/**
 * A key's address allowlist (issue 28 item 1): a JSON array of addresses and
 * CIDR ranges in canonical form (checked by clients/allowed-ips.ts), stored as
 * text so every database keeps it alike. NULL: anywhere.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.text('allowed_ips').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('allowed_ips');
  });
}
