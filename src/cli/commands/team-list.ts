import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export const teamListCommand = () =>
  keyportCommand(
    'teamlist',
    "list every team with its plan, the product's id for it (external_id) and whether it is suspended",
  ).action((flags: CommonFlags) =>
    runCommand(flags, async ({ teamService }) => {
      const teams = await teamService.listTeams();
      const data = teams.map((t) => ({
        team_id: t.id,
        name: t.name,
        plan: t.plan,
        external_id: t.externalId ?? null,
        suspended: t.suspendedAt != null,
        created_at: iso(t.createdAt),
      }));
      if (flags.json) return { total_count: data.length, data };
      const lines = data.map((t) =>
        [t.team_id, t.plan, t.name, t.external_id ?? '', t.suspended ? 'suspended' : ''].join('  ').trimEnd(),
      );
      return { total_count: data.length, teams: lines.length ? `\n${lines.join('\n')}` : '(none)' };
    }),
  );
