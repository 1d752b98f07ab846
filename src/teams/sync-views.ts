import type { SyncedMember } from './sync.js';
import type { Team } from './team.js';

/** A synced team as the sync API and `teamsync` answer it (docs/contract.md). */
export const syncedTeamView = (team: Team, externalId: string) => ({
  team_id: team.id,
  external_id: externalId,
  name: team.name,
  plan: team.plan,
  created_at: new Date(team.createdAt * 1000).toISOString(),
  suspended: team.suspendedAt != null,
});

/** A synced person as the sync API and `membersync` answer it; never the password or its hash. */
export const syncedMemberView = ({ team, user, role, externalId }: SyncedMember, teamExternalId: string) => ({
  team_id: team.id,
  team_external_id: teamExternalId,
  user_id: user.id,
  external_id: externalId,
  email: user.email ?? '',
  role,
  has_password: user.passwordHash !== null,
});
