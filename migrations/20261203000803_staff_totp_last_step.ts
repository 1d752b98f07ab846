import type { Knex } from 'knex';

/**
 * The last TOTP time step a staff account signed in with (RFC 6238 §5.2: a
 * code, once accepted, is not accepted again). Null until the first code.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('staff_accounts', (t) => {
    t.bigInteger('totp_last_step').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('staff_accounts', (t) => {
    t.dropColumn('totp_last_step');
  });
}
