import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const userRoleCommand = () =>
  keyportCommand('userrole', "change a person's role in a team (the last admin stays one)")
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', 'admin or member')
    .action((flags: CommonFlags & { team: number; email: string; role: string }) =>
      runCommand(flags, async ({ teamService }) => {
        const { user, previous } = await teamService.changeRole({
          teamId: flags.team,
          person: { email: flags.email },
          role: flags.role,
        });
        return { user_id: user.id, team_id: flags.team, email: user.email, role: flags.role, previous_role: previous };
      }),
    );
