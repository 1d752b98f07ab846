import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { OperatorError } from '../errors.js';
import * as teams from '../../migrations/20261123000001_teams.js';
import * as users from '../../migrations/20261123000002_users.js';
import * as memberships from '../../migrations/20261123000003_team_memberships.js';
import * as clients from '../../migrations/20261123000004_o_auth_clients.js';
import * as payloads from '../../migrations/20261123000005_oidc_payloads.js';
import * as previousSecret from '../../migrations/20261123000006_client_previous_secret.js';
import * as audit from '../../migrations/20261123000007_audit_events.js';
import * as rateLimits from '../../migrations/20261123000008_rate_limits.js';
import * as planCounters from '../../migrations/20261123000009_plan_counters.js';

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
  if ((await migrationState(db)) === 'ahead') {
    const known = new Set(MIGRATIONS.map(([name]) => name));
    const names = (await db('keyport_migrations').pluck('name')) as string[];
    throw new OperatorError(
      `the database was migrated by a newer keyport (unknown migrations: ${names.filter((n) => !known.has(n)).join(', ')}); refusing to start: run the newer keyport, or restore a backup made for this one`,
    );
  }
  const [, applied] = (await db.migrate.latest(options)) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(db: Db): Promise<void> {
  await db.migrate.rollback(options, true);
}

/** 'current', 'behind' (migrations to apply) or 'ahead' (database newer than this code). */
export async function migrationState(db: Db): Promise<'current' | 'behind' | 'ahead'> {
  // Read from the table: knex's own listing refuses outright when a name is unknown.
  if (!(await db.schema.hasTable('keyport_migrations'))) return 'behind';
  const done = new Set((await db('keyport_migrations').pluck('name')) as string[]);
  const known = new Set(MIGRATIONS.map(([name]) => name));
  if ([...done].some((name) => !known.has(name))) return 'ahead';
  return [...known].some((name) => !done.has(name)) ? 'behind' : 'current';
}
