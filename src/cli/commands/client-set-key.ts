import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { readKeyFile } from './service-account-add.js';

export const clientSetKeyCommand = () =>
  keyportCommand('clientsetkey', 'turn a secret-based client into a private_key_jwt one (the secret stops working)')
    .requiredOption('--client <id>', 'client_id')
    .requiredOption('--public-key <file>', 'PEM public key')
    .action((flags: CommonFlags & { client: string; publicKey: string }) =>
      runCommand(flags, async ({ clientService }) => ({
        ...(await clientService.setPublicKey(flags.client, readKeyFile(flags.publicKey))),
      })),
    );
