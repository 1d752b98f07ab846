import { readFileSync } from 'node:fs';
import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { InvalidRequest } from '../../errors.js';
import type { Config } from '../../config.js';
import { collectAddress, metaFlag, roleIdsOf } from './key-restrictions.js';

interface Flags extends CommonFlags {
  team: number;
  name?: string;
  env?: string;
  expiresInDays?: number;
  scope?: string;
  publicKey?: string;
  requestedBy?: string;
  share?: boolean;
  shareTtl?: number;
  allowIp?: string[];
  meta?: string;
  role?: string[];
  permission?: string[];
}

export const serviceAccountAddCommand = () =>
  keyportCommand('serviceaccountadd', 'create a service account and its OAuth client')
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .option('--name <name>', 'a name to recognise the key by')
    .option('--env <env>', 'prod or dev', 'prod')
    .option('--expires-in-days <days>', 'the key stops working after this many days', positiveInt('expires-in-days'))
    .option('--scope <scopes>', 'space-separated scopes from the catalogue')
    .option('--public-key <file>', 'PEM public key: the client authenticates with private_key_jwt and has no secret')
    .option('--requested-by <email>', 'the team admin who asked for the key')
    .option('--share', 'print a one-time link (share_url) to send the customer instead of the secret')
    .option('--share-ttl <hours>', 'how long the link works (default 24, at most 168)', positiveInt('share-ttl'))
    .option('--allow-ip <address>', 'address or CIDR range the key may be used from, repeatable', collectAddress)
    .option('--meta <json>', "the key's metadata as a JSON object")
    .option('--role <role>', 'a role the key holds (its id or name), repeatable', collectAddress)
    .option('--permission <resource:action>', 'a permission the key holds, repeatable', collectAddress)
    .action((flags: Flags) =>
      runCommand(flags, async ({ clientService, roles }, config) => {
        const created = await clientService.createServiceAccount({
          teamId: flags.team,
          name: flags.name,
          environment: flags.env,
          expiresInDays: flags.expiresInDays,
          scopes: flags.scope?.split(/\s+/).filter(Boolean),
          publicKeyPem: flags.publicKey === undefined ? undefined : readKeyFile(flags.publicKey),
          requestedBy: flags.requestedBy,
          allowedIps: flags.allowIp,
          meta: metaFlag(flags.meta),
          permissions: flags.permission,
          roles: await roleIdsOf(roles, flags.team, flags.role),
        });
        return handedOver(await clientService.handOver(created, shareOf(flags)), config);
      }),
    );

export function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidRequest('public-key', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** `-share [-share-ttl HOURS]`: the secret goes out as a one-time link. */
export function shareOf(flags: { share?: boolean; shareTtl?: number }) {
  if (!flags.share) {
    if (flags.shareTtl !== undefined) throw new InvalidRequest('share-ttl', 'goes with -share');
    return undefined;
  }
  return { ttlSeconds: flags.shareTtl === undefined ? undefined : flags.shareTtl * 3600 };
}

/**
 * The answer to print; when it holds a link and ISSUER is unset, warns on stderr that the
 * link assumes the server listens on http://localhost:PORT (the server's own default).
 */
export function handedOver(result: { share_url?: string }, config: Config): Record<string, unknown> {
  if (result.share_url !== undefined && !config.issuerIsSet) {
    process.stderr.write(
      `keyport: warning: ISSUER is not set, so the link assumes the server's default ${config.issuer}; ` +
        'set ISSUER (or PORT) as the server has it\n',
    );
  }
  return { ...result };
}
