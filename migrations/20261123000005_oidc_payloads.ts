import type { Knex } from 'knex';

/**
 * One table for every oidc-provider model other than Client (tokens, codes,
 * grants, sessions, interactions, replay detection), as logto and the
 * provider's own example adapters do.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.createTable('oidc_payloads', (t) => {
    t.string('type', 40).notNullable();
    const id = t.string('id', 255).notNullable();
    if (mysql) id.collate('utf8mb4_bin');
    t.text('payload').notNullable();
    const grant = t.string('grant_id', 255).nullable();
    const uid = t.string('uid', 255).nullable();
    const userCode = t.string('user_code', 255).nullable();
    if (mysql) [grant, uid, userCode].forEach((c) => c.collate('utf8mb4_bin'));
    t.bigInteger('expires_at').nullable();
    t.bigInteger('consumed_at').nullable();
    t.primary(['type', 'id']);
    t.index(['grant_id']);
    t.index(['uid']);
    t.index(['user_code']);
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_payloads');
}
