import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const userListCommand = () =>
  keyportCommand('userlist', "list a team's people and service accounts with their roles")
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .action((flags: CommonFlags & { team: number }) =>
      runCommand(flags, async ({ teamService }) => {
        const members = await teamService.listMembers(flags.team);
        const data = members.map(({ user, role, clientId }) => ({
          user_id: user.id,
          kind: user.kind,
          email: user.email,
          name: user.name,
          role,
          ...(clientId ? { client_id: clientId } : {}),
        }));
        if (flags.json) return { team_id: flags.team, total_count: data.length, data };
        const lines = data.map(
          (m) =>
            `${m.user_id}  ${m.kind}  ${m.role}  ${m.email ?? m.name ?? ''}${m.client_id ? `  ${m.client_id}` : ''}`,
        );
        return {
          team_id: flags.team,
          total_count: data.length,
          users: lines.length ? `\n${lines.join('\n')}` : '(none)',
        };
      }),
    );
