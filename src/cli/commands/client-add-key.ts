import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { readKeyFile } from './service-account-add.js';

export const clientAddKeyCommand = () =>
  keyportCommand(
    'clientaddkey',
    'add a public key to a JWT service account (at most 3), for a key-pair rotation without downtime',
  )
    .requiredOption('--client <id>', 'client_id')
    .requiredOption('--public-key <file>', 'PEM public key')
    .option('--kid <kid>', 'the key id the client puts in its assertions (default: the RFC 7638 thumbprint)')
    .action((flags: CommonFlags & { client: string; publicKey: string; kid?: string }) =>
      runCommand(flags, async ({ clientService }) => ({
        client_id: flags.client,
        kid: await clientService.addPublicKey(flags.client, readKeyFile(flags.publicKey), flags.kid),
      })),
    );

export const clientRemoveKeyCommand = () =>
  keyportCommand('clientremovekey', 'remove a public key of a JWT service account (never the last one)')
    .requiredOption('--client <id>', 'client_id')
    .requiredOption('--kid <kid>', 'the key id')
    .action((flags: CommonFlags & { client: string; kid: string }) =>
      runCommand(flags, async ({ clientService }) => {
        await clientService.removePublicKey(flags.client, flags.kid);
        return { client_id: flags.client, removed_kid: flags.kid };
      }),
    );
