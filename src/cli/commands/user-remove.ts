import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { positiveInt } from '../run.js';

export const userRemoveCommand = () =>
  keyportCommand(
    'userremove',
    'remove a person from a team: their tokens, refresh tokens, grants and sessions end at once',
  )
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--email <email>', 'sign-in email')
    .action((flags: CommonFlags & { team: number; email: string }) =>
      runCommand(flags, async ({ teamService }) => {
        const user = await teamService.removeMember({ teamId: flags.team, email: flags.email });
        return { user_id: user.id, team_id: flags.team, email: user.email, removed: true };
      }),
    );
