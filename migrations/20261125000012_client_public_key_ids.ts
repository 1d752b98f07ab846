import type { Knex } from 'knex';

/**
 * A JWT service account's keys by id (RFC 7517 `kid`): the id of the key in
 * `client_r_s_a_public_key` (null: its RFC 7638 thumbprint), and up to two
 * more keys as JSON `[{kid, pem}]`, so a customer rotates its key pair with
 * no downtime. On the client's row: reading a client stays one query.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.string('public_key_kid', 100).nullable();
    t.text('extra_public_keys').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('public_key_kid');
    t.dropColumn('extra_public_keys');
  });
}
