import type { Knex } from 'knex';

/**
 * `key.rate_limited` (issue 26 item 4): one row per key and rate-limit window it
 * went over, written in the transaction that puts the webhook in the outbox. The
 * primary key makes every keyport process try the same row, so the event is sent
 * once per key per window. `window_end` is the exceeded window's end (epoch
 * seconds, the X-RateLimit-Reset of the refusal); rows past it are swept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('key_rate_limit_notices', (t) => {
    t.string('client_id', 64).notNullable();
    t.bigInteger('window_end').notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['client_id', 'window_end']);
    t.index(['window_end']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('key_rate_limit_notices');
}
