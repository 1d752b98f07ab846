import type { Knex } from 'knex';

/** A staff account's recovery codes: shown once at enrolment, kept as SHA-256 digests, each usable once. */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('staff_recovery_codes', (t) => {
    t.integer('staff_id').notNullable();
    const digest = t.string('code_digest', 64).notNullable();
    if (mysql) digest.collate('utf8mb4_bin');
    t.bigInteger('used_at').nullable();
    t.primary(['staff_id', 'code_digest']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staff_recovery_codes');
}
