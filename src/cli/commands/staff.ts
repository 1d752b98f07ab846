import { text } from 'node:stream/consumers';
import { runCommand, UsageError, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

type AddFlags = CommonFlags & { email: string; role: string; password?: string; passwordStdin?: boolean };

/** A support console account (issue 29); with no password given, one is generated and printed this once. */
export const staffAddCommand = () =>
  keyportCommand('staffadd', 'add a support console staff account (roles: support, admin, readonly)')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', 'support, admin or readonly')
    .option('--password <password>', 'the password (8 characters to 72 bytes)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action((flags: AddFlags) =>
      runCommand(flags, async ({ staff }) => {
        if (flags.password !== undefined && flags.passwordStdin)
          throw new UsageError('give -password or -password-stdin, not both');
        const password = flags.passwordStdin ? (await text(process.stdin)).split(/\r?\n/)[0] : flags.password;
        const { account, generated } = await staff.add({ email: flags.email, role: flags.role, password });
        return {
          staff_id: account.id,
          email: account.email,
          role: account.role,
          second_factor: 'set up at the first sign-in at /console',
          ...(generated ? { password: generated } : {}),
        };
      }),
    );

/** Disables a staff account: its sessions end at once and it cannot sign in again. */
export const staffDisableCommand = () =>
  keyportCommand('staffdisable', 'disable a support console staff account; its sessions end at once')
    .requiredOption('--email <email>', 'sign-in email')
    .action((flags: CommonFlags & { email: string }) =>
      runCommand(flags, async ({ staff }) => {
        const { account, sessionsEnded } = await staff.disable(flags.email);
        return { staff_id: account.id, email: account.email, disabled: true, sessions_ended: sessionsEnded };
      }),
    );

export const staffListCommand = () =>
  keyportCommand('stafflist', 'list support console staff accounts').action((flags: CommonFlags) =>
    runCommand(flags, async ({ staff }) => ({
      staff: (await staff.list()).map((a) => ({
        staff_id: a.id,
        email: a.email,
        role: a.role,
        enrolled: a.totpSealed !== null,
        disabled: a.disabledAt !== null,
      })),
    })),
  );
