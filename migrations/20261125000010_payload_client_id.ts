import type { Knex } from 'knex';

/**
 * Which client each token, code, refresh token and grant belongs to, so a
 * revocation deletes all of them in one statement: a key revived later (a new
 * secret) never brings its old tokens back. Existing rows are filled in from
 * their payload's `clientId`.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.driverName === 'mysql2';
  await knex.schema.alterTable('oidc_payloads', (t) => {
    const column = t.string('client_id', 64).nullable();
    if (mysql) column.collate('utf8mb4_bin');
    t.index(['client_id']);
  });
  const client = knex.client.driverName as string;
  const extract =
    client === 'mysql2'
      ? "JSON_UNQUOTE(JSON_EXTRACT(payload, '$.clientId'))"
      : client === 'pg'
        ? "(payload::json ->> 'clientId')"
        : "json_extract(payload, '$.clientId')";
  await knex('oidc_payloads')
    .whereIn('type', ['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode', 'Grant'])
    .update({ client_id: knex.raw(extract) });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropIndex(['client_id']);
    t.dropColumn('client_id');
  });
}
