import type { TeamStore } from '../teams/store.js';

/** The email addresses of a team's admins: people only (service accounts and members are never mailed). */
export async function adminEmails(teams: TeamStore, teamId: number): Promise<string[]> {
  const members = await teams.listMembers(teamId);
  return members
    .filter((m) => m.role === 'admin' && m.user.kind === 'person' && m.user.email)
    .map((m) => m.user.email!);
}
