import type { Knex } from 'knex';

/**
 * When a rotation (or a switch to a public key) ended a link before it was
 * opened: it no longer reveals the old secret, and its expiry revokes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('share_links', (t) => {
    t.bigInteger('superseded_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('share_links', (t) => {
    t.dropColumn('superseded_at');
  });
}
