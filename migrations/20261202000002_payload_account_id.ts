import type { Knex } from 'knex';

/**
 * Which person each token, code, refresh token, grant and sign-in session
 * belongs to, so a person removed from a team loses them in one statement.
 * Existing rows are filled in from their payload's `accountId`.
 */
export async function up(knex: Knex): Promise<void> {
  const client = knex.client.driverName as string;
  const mysql = client === 'mysql2';
  await knex.schema.alterTable('oidc_payloads', (t) => {
    const column = t.string('account_id', 64).nullable();
    if (mysql) column.collate('utf8mb4_bin');
    t.index(['account_id']);
  });
  const extract = mysql
    ? "JSON_UNQUOTE(JSON_EXTRACT(payload, '$.accountId'))"
    : client === 'pg'
      ? "(payload::json ->> 'accountId')"
      : "json_extract(payload, '$.accountId')";
  await knex('oidc_payloads')
    .whereIn('type', ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'Grant', 'Session'])
    .update({ account_id: knex.raw(extract) });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropIndex(['account_id']);
    t.dropColumn('account_id');
  });
}
