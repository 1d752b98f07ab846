import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const appAddCommand = () =>
  keyportCommand('appadd', 'create a third-party OAuth app (authorization_code with PKCE)')
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--name <name>', 'the app name people see on the consent page')
    .option('--redirect-uri <uri>', 'redirect URI, repeatable (default urn:ietf:wg:oauth:2.0:oob)', collect)
    .action((flags: CommonFlags & { team: number; name: string; redirectUri?: string[] }) =>
      runCommand(flags, async ({ clientService }) => {
        const { client, clientSecret } = await clientService.createApp({ teamId: flags.team, name: flags.name, redirectUris: flags.redirectUri });
        return { ...client, client_secret: clientSecret };
      }),
    );
