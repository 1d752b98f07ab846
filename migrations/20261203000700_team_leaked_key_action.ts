import type { Knex } from 'knex';

/**
 * What keyport does with a team's key that a secret scanner reports (issue 28
 * item 4): `revoke` it at once (the default) or only `flag` it (the admins are
 * told, the key keeps working until a person acts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.string('leaked_key_action', 8).notNullable().defaultTo('revoke');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.dropColumn('leaked_key_action');
  });
}
