import { Conflict, InvalidRequest } from '../../errors.js';
import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const teamAddCommand = () =>
  keyportCommand('teamadd', 'create a team')
    .requiredOption('--name <name>', 'team name')
    .requiredOption('--plan <plan>', 'plan (see the configuration)')
    .option('--external-id <id>', "the team's id in your product (hand-off and sign-in with the product)")
    .action((flags: CommonFlags & { name: string; plan: string; externalId?: string }) =>
      runCommand(flags, async ({ teamService, teams, externalTeams }) => {
        const ext = flags.externalId;
        if (ext !== undefined && (!ext || ext.length > 200))
          throw new InvalidRequest('external-id', 'must be 1 to 200 characters');
        if (ext && (await teams.findTeamByExternalId(ext)))
          throw new Conflict(`another team has the external id ${ext}`);
        const team = await teamService.createTeam({ name: flags.name, plan: flags.plan });
        if (ext) await externalTeams.setExternalId(team.id, ext);
        return { team_id: team.id, name: team.name, plan: team.plan, ...(ext ? { external_id: ext } : {}) };
      }),
    );
