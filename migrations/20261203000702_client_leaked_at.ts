import type { Knex } from 'knex';

/**
 * When a secret scanner last reported the key's current secret as public
 * (issue 28 item 4), whether it was revoked or only flagged. Cleared when the
 * secret is rotated: the new one has not leaked. NULL: never reported.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.bigInteger('leaked_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('leaked_at');
  });
}
