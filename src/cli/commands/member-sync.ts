import { runCommand, type CommonFlags } from '../run.js';
import { syncedMemberView } from '../../teams/sync-views.js';
import { keyportCommand } from './common.js';

export const memberSyncCommand = () =>
  keyportCommand(
    'membersync',
    'create or update the person the product calls EXTERNAL-ID in a synced team (as PUT …/members/:ext_user); a new person has no password',
  )
    .requiredOption('--team-external-id <id>', "the team's id in the product")
    .requiredOption('--external-id <id>', "the person's id in the product")
    .requiredOption('--email <email>', "the person's email")
    .requiredOption('--role <role>', 'admin or member')
    .action((flags: CommonFlags & { teamExternalId: string; externalId: string; email: string; role: string }) =>
      runCommand(flags, async ({ teamSync }) => {
        const { member, outcome } = await teamSync.putMember(flags);
        return { ...syncedMemberView(member, flags.teamExternalId), outcome };
      }),
    );
