import type { Knex } from 'knex';

/**
 * `credits.low` (issue 26 item 4): when a call left the key's credits below
 * `credits_low_threshold`, set once by a conditional UPDATE (of several processes,
 * one announces it); cleared whenever the credits are set or refilled, so each
 * crossing is told once. NULL: not low since the credits were last given.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.bigInteger('credits_low_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('credits_low_at');
  });
}
