import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { positiveInt } from '../run.js';

export const userAddCommand = () =>
  keyportCommand('useradd', 'create a person in a team')
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--password <password>', 'sign-in password (8 characters to 72 bytes)')
    .option('--role <role>', 'admin or member', 'member')
    .action((flags: CommonFlags & { team: number; email: string; password: string; role: string }) =>
      runCommand(flags, async ({ teamService }) => {
        const user = await teamService.addPerson({
          teamId: flags.team,
          email: flags.email,
          password: flags.password,
          role: flags.role,
        });
        return { user_id: user.id, team_id: flags.team, email: user.email, role: flags.role };
      }),
    );
