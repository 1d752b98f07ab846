import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const teamPlanCommand = () =>
  keyportCommand('teamplan', "change a team's plan; its keys' limits and API access follow at once")
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--plan <plan>', 'a configured plan')
    .action((flags: CommonFlags & { team: number; plan: string }) =>
      runCommand(flags, async ({ teamService }) => {
        const { team, previous } = await teamService.changePlan({ teamId: flags.team, plan: flags.plan });
        const plan = teamService.planOf(team);
        return {
          team_id: team.id,
          plan: team.plan,
          previous_plan: previous,
          api_access: plan.api_access,
          max_keys: plan.max_keys,
        };
      }),
    );
