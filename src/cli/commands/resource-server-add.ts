import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const resourceServerAddCommand = () =>
  keyportCommand('resourceserveradd', 'create a client that may introspect any token')
    .requiredOption('--name <name>', 'name of the API')
    .action((flags: CommonFlags & { name: string }) =>
      runCommand(flags, async ({ clientService }) => {
        const { client, clientSecret } = await clientService.createResourceServer({ name: flags.name });
        return { ...client, client_secret: clientSecret };
      }),
    );
