import type { Knex } from 'knex';

/**
 * The access-token format a resource server chose (issue 27 item 2): `jwt`
 * for RFC 9068 JWT access tokens, checked at its guards with keyport's JWKS;
 * NULL for the default, opaque tokens.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.string('access_token_format', 8).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('access_token_format');
  });
}
