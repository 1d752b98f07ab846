import { InvalidRequest } from '../../errors.js';
import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { collectAddress, metaFlag, roleIdsOf } from './key-restrictions.js';

interface Flags extends CommonFlags {
  client: string;
  name?: string;
  allowIp?: string[];
  allowAnywhere?: boolean;
  meta?: string;
  role?: string[];
  clearRoles?: boolean;
  permission?: string[];
  clearPermissions?: boolean;
}

export const clientUpdateCommand = () =>
  keyportCommand('clientupdate', "change a key's name, address allowlist, metadata, roles or permissions")
    .requiredOption('--client <id>', 'client_id')
    .option('--name <name>', 'a new name')
    .option(
      '--allow-ip <address>',
      'address or CIDR range the key may be used from, repeatable (replaces the list)',
      collectAddress,
    )
    .option('--allow-anywhere', 'clear the address allowlist')
    .option('--meta <json>', "the key's metadata as a JSON object; null clears it")
    .option('--role <role>', 'a role the key holds (its id or name), repeatable (replaces the list)', collectAddress)
    .option('--clear-roles', 'take every role from the key')
    .option(
      '--permission <resource:action>',
      'a permission the key holds, repeatable (replaces the list)',
      collectAddress,
    )
    .option('--clear-permissions', "take the key's own permissions from it")
    .action((flags: Flags) =>
      runCommand(flags, async ({ clientService, roles }) => {
        if (flags.allowAnywhere && flags.allowIp) throw new InvalidRequest('allow-anywhere', 'goes without -allow-ip');
        if (flags.clearRoles && flags.role) throw new InvalidRequest('clear-roles', 'goes without -role');
        if (flags.clearPermissions && flags.permission)
          throw new InvalidRequest('clear-permissions', 'goes without -permission');
        const roleIds = flags.clearRoles
          ? []
          : flags.role && (await roleIdsOf(roles, (await clientService.get(flags.client)).teamId!, flags.role));
        return {
          ...(await clientService.update(flags.client, {
            name: flags.name,
            allowedIps: flags.allowAnywhere ? [] : flags.allowIp,
            meta: metaFlag(flags.meta),
            permissions: flags.clearPermissions ? [] : flags.permission,
            roles: roleIds,
          })),
        };
      }),
    );
