import { runCommand, type CommonFlags } from '../run.js';
import { syncedTeamView } from '../../teams/sync-views.js';
import { keyportCommand } from './common.js';

export const teamSuspendCommand = () =>
  keyportCommand(
    'teamsuspend',
    'suspend the team the product calls EXTERNAL-ID (as DELETE /api/teams/by-external-id/:ext): its keys stop at once, data kept',
  )
    .requiredOption('--external-id <id>', "the team's id in the product")
    .action((flags: CommonFlags & { externalId: string }) =>
      runCommand(flags, async ({ teamSync }) => {
        const { team, outcome } = await teamSync.suspendTeam(flags.externalId);
        return { ...syncedTeamView(team, flags.externalId), outcome };
      }),
    );
