import { InvalidRequest } from '../../errors.js';
import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { collectAddress, metaFlag } from './key-restrictions.js';

interface Flags extends CommonFlags {
  client: string;
  name?: string;
  allowIp?: string[];
  allowAnywhere?: boolean;
  meta?: string;
}

export const clientUpdateCommand = () =>
  keyportCommand('clientupdate', "change a key's name, address allowlist or metadata")
    .requiredOption('--client <id>', 'client_id')
    .option('--name <name>', 'a new name')
    .option(
      '--allow-ip <address>',
      'address or CIDR range the key may be used from, repeatable (replaces the list)',
      collectAddress,
    )
    .option('--allow-anywhere', 'clear the address allowlist')
    .option('--meta <json>', "the key's metadata as a JSON object; null clears it")
    .action((flags: Flags) =>
      runCommand(flags, async ({ clientService }) => {
        if (flags.allowAnywhere && flags.allowIp) throw new InvalidRequest('allow-anywhere', 'goes without -allow-ip');
        return {
          ...(await clientService.update(flags.client, {
            name: flags.name,
            allowedIps: flags.allowAnywhere ? [] : flags.allowIp,
            meta: metaFlag(flags.meta),
          })),
        };
      }),
    );
