import type { Knex } from 'knex';

/**
 * Teams and people in step with the product (issue 26 item 3): a person's id
 * in the product is kept on their membership (one person may be synced into
 * several teams, each naming them by its own id), unique within the team and
 * compared byte for byte on MySQL too; a team the product deleted is
 * suspended (`suspended_at`, epoch seconds), its data kept.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.alterTable('team_memberships', (t) => {
    const column = t.string('external_id', 200).nullable();
    if (mysql) column.collate('utf8mb4_bin');
    t.unique(['team_id', 'external_id']);
  });
  await knex.schema.alterTable('teams', (t) => {
    t.bigInteger('suspended_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.dropColumn('suspended_at');
  });
  await knex.schema.alterTable('team_memberships', (t) => {
    t.dropUnique(['team_id', 'external_id']);
    t.dropColumn('external_id');
  });
}
