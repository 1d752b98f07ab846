import type { Knex } from 'knex';

/**
 * Which stored secret a key's digest was made for (the SHA-256 of that
 * bcrypt hash). The runbook replaces a secret by pasting a new hash into
 * `client_secret_hash`; a digest whose binding no longer matches the hash is
 * not trusted, so the old key stops working directly and at /token, and the
 * new secret gains its digest at its first use.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.string('key_digest_binding', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropColumn('key_digest_binding');
  });
}
