import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const memberRemoveCommand = () =>
  keyportCommand(
    'memberremove',
    'remove the person the product calls EXTERNAL-ID from a synced team (as DELETE …/members/:ext_user): their tokens and sessions end at once',
  )
    .requiredOption('--team-external-id <id>', "the team's id in the product")
    .requiredOption('--external-id <id>', "the person's id in the product")
    .action((flags: CommonFlags & { teamExternalId: string; externalId: string }) =>
      runCommand(flags, async ({ teamSync }) => {
        const { team, outcome, user } = await teamSync.removeMember(flags);
        return {
          team_id: team.id,
          team_external_id: flags.teamExternalId,
          external_id: flags.externalId,
          ...(user ? { user_id: user.id, email: user.email } : {}),
          outcome,
        };
      }),
    );
