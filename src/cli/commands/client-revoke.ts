import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const clientRevokeCommand = () =>
  keyportCommand('clientrevoke', 'revoke a client: it gets no tokens, and its tokens introspect as inactive')
    .requiredOption('--client <id>', 'client_id')
    .action((flags: CommonFlags & { client: string }) =>
      runCommand(flags, async ({ clientService }) => ({ ...(await clientService.revoke(flags.client)) })),
    );
