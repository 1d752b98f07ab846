import { runCommand, type CommonFlags } from '../run.js';
import { syncedTeamView } from '../../teams/sync-views.js';
import { keyportCommand } from './common.js';

export const teamSyncCommand = () =>
  keyportCommand(
    'teamsync',
    'create or update the team the product calls EXTERNAL-ID (as PUT /api/teams/by-external-id/:ext); a suspended team resumes',
  )
    .requiredOption('--external-id <id>', "the team's id in the product")
    .requiredOption('--name <name>', 'team name')
    .requiredOption('--plan <plan>', 'a configured plan')
    .action((flags: CommonFlags & { externalId: string; name: string; plan: string }) =>
      runCommand(flags, async ({ teamSync }) => {
        const { team, outcome } = await teamSync.putTeam(flags);
        return { ...syncedTeamView(team, flags.externalId), outcome };
      }),
    );
