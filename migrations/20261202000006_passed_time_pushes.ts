import type { Knex } from 'knex';

/**
 * A change row may name the moment that caused it: a key's `expires_at`
 * passing or a rotation's grace period ending (`moment_kind`, `moment_at`).
 * Unique per client, so of several processes pushing the same moment one
 * insert wins and the others fail as duplicates: each is pushed once. Rows
 * for other changes leave both empty (NULLs never collide). The moments are
 * indexed so each run reads only those that just passed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('key_events', (t) => {
    t.string('moment_kind', 16).nullable();
    t.bigInteger('moment_at').nullable();
    t.unique(['client_id', 'moment_kind', 'moment_at']);
  });
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.index(['expires_at']);
    t.index(['previous_secret_expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropIndex(['expires_at']);
    t.dropIndex(['previous_secret_expires_at']);
  });
  await knex.schema.alterTable('key_events', (t) => {
    t.dropUnique(['client_id', 'moment_kind', 'moment_at']);
    t.dropColumn('moment_kind');
    t.dropColumn('moment_at');
  });
}
