import type { Knex } from 'knex';

/** Secret rotation with a grace period keeps the previous hash until it ends (as Hydra does). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.string('previous_secret_hash', 100).nullable();
    t.bigInteger('previous_secret_expires_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('previous_secret_hash');
    t.dropColumn('previous_secret_expires_at');
  });
}
