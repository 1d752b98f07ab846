import type { Knex } from 'knex';

/**
 * API keys used directly: a service account's secret is found by the SHA-256
 * of the whole key (indexed; no bcrypt per call), the previous secret's too
 * during a rotation's grace period; and a key may carry usage credits that
 * refill each day or month (`credits_period` is the start of the period they
 * were last refilled for, so a refill needs no job that touches every row).
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.alterTable('o_auth_clients', (t) => {
    const digest = t.string('key_digest', 64).nullable();
    const previous = t.string('previous_key_digest', 64).nullable();
    if (mysql) [digest, previous].forEach((c) => c.collate('utf8mb4_bin'));
    t.unique(['key_digest']);
    t.index(['previous_key_digest']);
    t.bigInteger('credits_remaining').nullable();
    t.string('credits_refill_interval', 8).nullable();
    t.bigInteger('credits_refill_amount').nullable();
    t.bigInteger('credits_period').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('o_auth_clients', (t) => {
    t.dropUnique(['key_digest']);
    t.dropIndex(['previous_key_digest']);
    for (const column of [
      'key_digest',
      'previous_key_digest',
      'credits_remaining',
      'credits_refill_interval',
      'credits_refill_amount',
      'credits_period',
    ])
      t.dropColumn(column);
  });
}
