import type { Knex } from 'knex';

/**
 * Support console staff (issue 29): a staff account is no team's person. The
 * password is a bcrypt hash; the TOTP secret is sealed with a key derived
 * from the cookie keys (AES-256-GCM), never kept in clear; `disabled_at`
 * ends every session at once (sessions are checked against it per request).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('staff_accounts', (t) => {
    t.increments('id').primary();
    t.string('email', 254).notNullable().unique();
    t.string('role', 16).notNullable();
    t.string('password_hash', 100).notNullable();
    t.string('totp_sealed', 255).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('disabled_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staff_accounts');
}
