import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { handedOver, shareOf } from './service-account-add.js';
import { collectAddress, metaFlag, roleIdsOf } from './key-restrictions.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const appAddCommand = () =>
  keyportCommand('appadd', 'create a third-party OAuth app (authorization_code with PKCE)')
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--name <name>', 'the app name people see on the consent page')
    .option('--redirect-uri <uri>', 'redirect URI, repeatable (default urn:ietf:wg:oauth:2.0:oob)', collect)
    .option('--share', 'print a one-time link (share_url) to send the customer instead of the secret')
    .option('--share-ttl <hours>', 'how long the link works (default 24, at most 168)', positiveInt('share-ttl'))
    .option('--allow-ip <address>', 'address or CIDR range the app may get tokens from, repeatable', collectAddress)
    .option('--meta <json>', "the app's metadata as a JSON object")
    .option('--role <role>', 'a role the app holds (its id or name), repeatable', collect)
    .option('--permission <resource:action>', 'a permission the app holds, repeatable', collect)
    .action(
      (
        flags: CommonFlags & {
          team: number;
          name: string;
          redirectUri?: string[];
          share?: boolean;
          shareTtl?: number;
          allowIp?: string[];
          meta?: string;
          role?: string[];
          permission?: string[];
        },
      ) =>
        runCommand(flags, async ({ clientService, roles }, config) => {
          const created = await clientService.createApp({
            teamId: flags.team,
            name: flags.name,
            redirectUris: flags.redirectUri,
            allowedIps: flags.allowIp,
            meta: metaFlag(flags.meta),
            permissions: flags.permission,
            roles: await roleIdsOf(roles, flags.team, flags.role),
          });
          return handedOver(await clientService.handOver(created, shareOf(flags)), config);
        }),
    );
