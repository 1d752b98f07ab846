import type { Knex } from 'knex';

/** Calls of a key refused because they came from an address its allowlist does not name (issue 28 item 1). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('key_usage_hourly', (t) => {
    t.bigInteger('forbidden_ip').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('key_usage_hourly', (t) => {
    t.dropColumn('forbidden_ip');
  });
}
