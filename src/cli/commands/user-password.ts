import { text } from 'node:stream/consumers';
import { positiveInt, runCommand, UsageError, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

type Flags = CommonFlags & { team: number; email: string; password?: string; passwordStdin?: boolean };

/**
 * As `useradd` takes it: `-password P`; or `-password-stdin` (first line of
 * stdin, kept out of the shell history and `ps`); or neither, and a password
 * is generated and printed this once.
 */
export const userPasswordCommand = () =>
  keyportCommand('userpassword', "reset a person's password; every session they hold ends at once")
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .requiredOption('--email <email>', 'sign-in email')
    .option('--password <password>', 'the new password (8 characters to 72 bytes)')
    .option('--password-stdin', 'read the new password from the first line of stdin')
    .action((flags: Flags) =>
      runCommand(flags, async ({ teamService }) => {
        if (flags.password !== undefined && flags.passwordStdin)
          throw new UsageError('give -password or -password-stdin, not both');
        const password = flags.passwordStdin ? (await text(process.stdin)).split(/\r?\n/)[0] : flags.password;
        const { user, generated } = await teamService.resetPassword({
          teamId: flags.team,
          person: { email: flags.email },
          password,
        });
        return {
          user_id: user.id,
          team_id: flags.team,
          email: user.email,
          sessions_ended: true,
          ...(generated ? { password: generated } : {}),
        };
      }),
    );
