import { Command } from 'commander';
import { configFrom, fail, print, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

// Loaded when a subcommand runs (jose), not when the CLI starts.
const keys = () => import('../../persistence/signing-keys.js');

const run =
  (action: (flags: CommonFlags & { kid?: string }) => Promise<Record<string, unknown>>) =>
  async (flags: CommonFlags & { kid?: string }) => {
    try {
      print(await action(flags), flags.json === true);
    } catch (err) {
      fail(err, flags.json === true);
    }
  };

/**
 * `signingkeys rotate | retire -kid KID | list`. Every running keyport reads
 * KEYS_DIR again within keys_reload_seconds: no restart.
 */
export const signingKeysCommand = () =>
  new Command('signingkeys')
    .description('manage token signing keys (running servers pick changes up within keys_reload_seconds)')
    .addCommand(
      keyportCommand(
        'rotate',
        'add a new signing key and sign with it; the older ones stay published and still verify',
      ).action(
        run(async (flags) => {
          const key = await (await keys()).rotateSigningKey(configFrom(flags).keysDir);
          return { kid: key.kid, alg: key.alg };
        }),
      ),
    )
    .addCommand(
      keyportCommand('retire', 'stop publishing an older signing key: tokens it signed stop verifying')
        .requiredOption('--kid <kid>', 'the key to retire (see `signingkeys list`)')
        .action(run(async (flags) => (await keys()).retireSigningKey(configFrom(flags).keysDir, flags.kid!))),
    )
    .addCommand(
      keyportCommand('list', 'the published keys, the signing one first').action(
        run(async (flags) => {
          const { jwks } = await (await keys()).loadOrCreateKeys(configFrom(flags).keysDir);
          return { signing: jwks.keys[0]!.kid, published: jwks.keys.map((k) => k.kid) };
        }),
      ),
    );
