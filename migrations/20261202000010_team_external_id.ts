import type { Knex } from 'knex';

/**
 * The id a team has in the product keyport serves (issue 26): the hand-off
 * and sign-in with the product name a team by it. Nullable (teams made with
 * `teamadd` have none) and unique; compared byte for byte on MySQL too.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.alterTable('teams', (t) => {
    const column = t.string('external_id', 200).nullable();
    if (mysql) column.collate('utf8mb4_bin');
    t.unique(['external_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.dropUnique(['external_id']);
    t.dropColumn('external_id');
  });
}
