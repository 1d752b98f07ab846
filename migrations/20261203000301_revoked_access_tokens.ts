import type { Knex } from 'knex';

/**
 * JWT access tokens revoked at /token/revocation (issue 27 item 2): they are
 * not stored, so what is stored is that one was revoked (its `jti`, until it
 * would have expired anyway), and /keys/verify refuses it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('revoked_access_tokens', (t) => {
    t.string('jti', 64).primary();
    t.string('client_id', 255).notNullable();
    t.bigInteger('expires_at').notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('revoked_access_tokens');
}
