import type { Knex } from 'knex';

/**
 * A counter each key create raises on its team's row, in the create's
 * transaction: the write that makes creates racing for a team's last key
 * place conflict on every database. A row lock taken with SELECT … FOR UPDATE
 * is not enough on a multi-primary cluster (MariaDB Galera), which certifies
 * written rows only and ignores a lock taken on another node.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.bigInteger('key_writes').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('teams', (t) => {
    t.dropColumn('key_writes');
  });
}
