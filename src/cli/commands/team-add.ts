import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const teamAddCommand = () =>
  keyportCommand('teamadd', 'create a team')
    .requiredOption('--name <name>', 'team name')
    .requiredOption('--plan <plan>', 'plan (see the configuration)')
    .action((flags: CommonFlags & { name: string; plan: string }) =>
      runCommand(flags, async ({ teamService }) => {
        const team = await teamService.createTeam({ name: flags.name, plan: flags.plan });
        return { team_id: team.id, name: team.name, plan: team.plan };
      }),
    );
