import { resourceIndicatorOf } from '../../clients/resource-indicators.js';
import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const resourceServerAddCommand = () =>
  keyportCommand('resourceserveradd', 'create a client that may introspect any token')
    .requiredOption('--name <name>', 'name of the API')
    .option('--jwt', 'JWT access tokens (RFC 9068) for its own resource indicator, checked at its guards')
    .action((flags: CommonFlags & { name: string; jwt?: boolean }) =>
      runCommand(flags, async ({ clientService }) => {
        const { client, clientSecret } = await clientService.createResourceServer({
          name: flags.name,
          accessTokenFormat: flags.jwt ? 'jwt' : null,
        });
        return {
          ...client,
          client_secret: clientSecret,
          ...(flags.jwt ? { access_token_format: 'jwt', resource: resourceIndicatorOf(client.client_id) } : {}),
        };
      }),
    );
