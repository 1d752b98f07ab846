import type { Knex } from 'knex';

/**
 * One-time links that hand a new secret to a customer. Only ciphertext is
 * kept (AES-256-GCM under a key that exists only in the link's fragment),
 * and only until the link is opened or expires.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('share_links', (t) => {
    const id = t.string('id', 32).notNullable().primary();
    const client = t.string('client_id', 64).notNullable();
    if (mysql) [id, client].forEach((c) => c.collate('utf8mb4_bin'));
    t.integer('team_id').nullable();
    t.text('ciphertext').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('opened_at').nullable();
    t.string('opened_ip', 64).nullable();
    t.boolean('revoke_if_unopened').notNullable().defaultTo(false);
    /** When the sweep handled the link's expiry (revoked the key if asked); null: not yet. */
    t.bigInteger('settled_at').nullable();
    t.index(['client_id']);
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('share_links');
}
