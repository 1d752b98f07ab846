import { Command } from 'commander';
import { rotateSigningKey } from '../../oidc/signing-keys.js';
import { configFrom, fail, print, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const signingKeysCommand = () =>
  new Command('signingkeys').description('manage token signing keys').addCommand(
    keyportCommand('rotate', 'add a new signing key; the old ones still verify').action(async (flags: CommonFlags) => {
      try {
        const key = await rotateSigningKey(configFrom(flags).keysDir);
        print({ kid: key.kid, alg: key.alg }, flags.json === true);
      } catch (err) {
        fail(err);
      }
    }),
  );
