import type { Knex } from 'knex';
import { withoutTransactionRetry, type Db } from './knex.js';
import { OperatorError } from '../../errors.js';
import * as teams from '../../../migrations/20261123000001_teams.js';
import * as users from '../../../migrations/20261123000002_users.js';
import * as memberships from '../../../migrations/20261123000003_team_memberships.js';
import * as clients from '../../../migrations/20261123000004_o_auth_clients.js';
import * as payloads from '../../../migrations/20261123000005_oidc_payloads.js';
import * as previousSecret from '../../../migrations/20261123000006_client_previous_secret.js';
import * as audit from '../../../migrations/20261123000007_audit_events.js';
import * as rateLimits from '../../../migrations/20261123000008_rate_limits.js';
import * as planCounters from '../../../migrations/20261123000009_plan_counters.js';
import * as payloadClientId from '../../../migrations/20261125000010_payload_client_id.js';
import * as usersEmailExact from '../../../migrations/20261125000011_users_email_exact.js';
import * as publicKeyIds from '../../../migrations/20261125000012_client_public_key_ids.js';
import * as apiKeys from '../../../migrations/20261125000013_api_keys.js';
import * as keyUsage from '../../../migrations/20261125000014_key_usage.js';
import * as shareLinks from '../../../migrations/20261125000015_share_links.js';
import * as dashboardSessions from '../../../migrations/20261125000016_dashboard_sessions.js';
import * as keyDigestBinding from '../../../migrations/20261125000017_key_digest_binding.js';
import * as keyEvents from '../../../migrations/20261125000018_key_events.js';
import * as shareLinkSuperseded from '../../../migrations/20261202000001_share_link_superseded.js';
import * as payloadAccountId from '../../../migrations/20261202000002_payload_account_id.js';
import * as webhooks from '../../../migrations/20261202000003_webhooks.js';
import * as keyRateLimitNotices from '../../../migrations/20261203000100_key_rate_limit_notices.js';
import * as clientCreditsLow from '../../../migrations/20261203000101_client_credits_low.js';
import * as teamKeyWrites from '../../../migrations/20261202000005_team_key_writes.js';
import * as passedTimePushes from '../../../migrations/20261202000006_passed_time_pushes.js';
import * as keyReminders from '../../../migrations/20261202000007_key_reminders.js';
import * as teamExternalId from '../../../migrations/20261202000010_team_external_id.js';
import * as teamSync from '../../../migrations/20261202000011_team_sync.js';
import * as clientMeta from '../../../migrations/20261202000020_client_meta.js';
import * as teamLeakedKeyAction from '../../../migrations/20261203000700_team_leaked_key_action.js';
import * as leakReports from '../../../migrations/20261203000701_leak_reports.js';
import * as clientLeakedAt from '../../../migrations/20261203000702_client_leaked_at.js';
import * as clientPermissions from '../../../migrations/20261203000600_client_permissions.js';
import * as clientRoles from '../../../migrations/20261203000601_client_roles.js';
import * as teamRoles from '../../../migrations/20261203000602_team_roles.js';
import * as clientAllowedIps from '../../../migrations/20261203000500_client_allowed_ips.js';
import * as keyUsageForbiddenIp from '../../../migrations/20261203000501_key_usage_forbidden_ip.js';
import * as staffAccounts from '../../../migrations/20261203000800_staff_accounts.js';
import * as staffRecoveryCodes from '../../../migrations/20261203000801_staff_recovery_codes.js';
import * as staffSessions from '../../../migrations/20261203000802_staff_sessions.js';
import * as staffTotpLastStep from '../../../migrations/20261203000803_staff_totp_last_step.js';
import * as syncTokens from '../../../migrations/20261203000900_sync_tokens.js';
import * as writtenBatches from '../../../migrations/20261203001000_written_batches.js';
import * as resourceServerTokenFormat from '../../../migrations/20261203000300_resource_server_token_format.js';
import * as revokedAccessTokens from '../../../migrations/20261203000301_revoked_access_tokens.js';

/**
 * Migrations are imported, not read from a folder, so the same list runs from
 * TypeScript sources (tests) and from the compiled build (npm start).
 */
const MIGRATIONS: ReadonlyArray<readonly [string, Knex.Migration]> = [
  ['20261123000001_teams', teams],
  ['20261123000002_users', users],
  ['20261123000003_team_memberships', memberships],
  ['20261123000004_o_auth_clients', clients],
  ['20261123000005_oidc_payloads', payloads],
  ['20261123000006_client_previous_secret', previousSecret],
  ['20261123000007_audit_events', audit],
  ['20261123000008_rate_limits', rateLimits],
  ['20261123000009_plan_counters', planCounters],
  ['20261125000010_payload_client_id', payloadClientId],
  ['20261125000011_users_email_exact', usersEmailExact],
  ['20261125000012_client_public_key_ids', publicKeyIds],
  ['20261125000013_api_keys', apiKeys],
  ['20261125000014_key_usage', keyUsage],
  ['20261125000015_share_links', shareLinks],
  ['20261125000016_dashboard_sessions', dashboardSessions],
  ['20261125000017_key_digest_binding', keyDigestBinding],
  ['20261125000018_key_events', keyEvents],
  ['20261202000001_share_link_superseded', shareLinkSuperseded],
  ['20261202000002_payload_account_id', payloadAccountId],
  ['20261202000003_webhooks', webhooks],
  ['20261202000005_team_key_writes', teamKeyWrites],
  ['20261202000006_passed_time_pushes', passedTimePushes],
  ['20261202000007_key_reminders', keyReminders],
  ['20261202000010_team_external_id', teamExternalId],
  ['20261202000011_team_sync', teamSync],
  ['20261202000020_client_meta', clientMeta],
  ['20261203000100_key_rate_limit_notices', keyRateLimitNotices],
  ['20261203000101_client_credits_low', clientCreditsLow],
  ['20261203000300_resource_server_token_format', resourceServerTokenFormat],
  ['20261203000301_revoked_access_tokens', revokedAccessTokens],
  ['20261203000500_client_allowed_ips', clientAllowedIps],
  ['20261203000501_key_usage_forbidden_ip', keyUsageForbiddenIp],
  ['20261203000600_client_permissions', clientPermissions],
  ['20261203000601_client_roles', clientRoles],
  ['20261203000602_team_roles', teamRoles],
  ['20261203000700_team_leaked_key_action', teamLeakedKeyAction],
  ['20261203000701_leak_reports', leakReports],
  ['20261203000702_client_leaked_at', clientLeakedAt],
  ['20261203000800_staff_accounts', staffAccounts],
  ['20261203000801_staff_recovery_codes', staffRecoveryCodes],
  ['20261203000802_staff_sessions', staffSessions],
  ['20261203000803_staff_totp_last_step', staffTotpLastStep],
  ['20261203000900_sync_tokens', syncTokens],
  ['20261203001000_written_batches', writtenBatches],
];

const source: Knex.MigrationSource<readonly [string, Knex.Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

const options: Knex.MigratorConfig = { migrationSource: source, tableName: 'keyport_migrations' };

/**
 * Applies the migrations this code knows. A database already migrated by a
 * newer keyport is refused: this code would not know its tables.
 */
export async function migrateLatest(db: Db): Promise<string[]> {
  const unknown = unknownMigrations(await appliedMigrations(db));
  if (unknown.length) {
    throw new OperatorError(
      `the database was migrated by a newer keyport (unknown migrations: ${unknown.join(', ')}); refusing to start: run the newer keyport, or restore a backup made for this one`,
    );
  }
  // Never run again whole: on MySQL the batch's first schema change commits its lock, so a batch
  // retried after a conflict would find that lock taken, and keep it.
  const [, applied] = (await withoutTransactionRetry(db, () => db.migrate.latest(options))) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(db: Db): Promise<void> {
  await withoutTransactionRetry(db, () => db.migrate.rollback(options, true));
}

/** 'current', 'behind' (migrations to apply) or 'ahead' (database newer than this code). */
export async function migrationState(db: Db): Promise<'current' | 'behind' | 'ahead' | 'empty'> {
  if (!(await db.schema.hasTable('keyport_migrations'))) return 'empty';
  const applied = await appliedMigrations(db);
  if (unknownMigrations(applied).length) return 'ahead';
  return MIGRATIONS.some(([name]) => !applied.has(name)) ? 'behind' : 'current';
}

/** Read from the table: knex's own listing refuses outright when a name is unknown. */
async function appliedMigrations(db: Db): Promise<Set<string>> {
  if (!(await db.schema.hasTable('keyport_migrations'))) return new Set();
  return new Set((await db('keyport_migrations').pluck('name')) as string[]);
}

function unknownMigrations(applied: ReadonlySet<string>): string[] {
  const known = new Set(MIGRATIONS.map(([name]) => name));
  return [...applied].filter((name) => !known.has(name));
}
