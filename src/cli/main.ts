#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { normalizeGoStyleFlags } from './argv.js';
import { appAddCommand } from './commands/app-add.js';
import { clientAddKeyCommand, clientRemoveKeyCommand } from './commands/client-add-key.js';
import { clientListCommand } from './commands/client-list.js';
import { clientRevokeCommand } from './commands/client-revoke.js';
import { clientUpdateCommand } from './commands/client-update.js';
import { clientSetKeyCommand } from './commands/client-set-key.js';
import { configCommand } from './commands/config.js';
import { migrateCommand } from './commands/migrate.js';
import { resourceServerAddCommand } from './commands/resource-server-add.js';
import { serveCommand } from './commands/serve.js';
import { serviceAccountAddCommand } from './commands/service-account-add.js';
import { signingKeysCommand } from './commands/signing-keys.js';
import { teamAddCommand } from './commands/team-add.js';
import { userAddCommand } from './commands/user-add.js';
import { userRemoveCommand } from './commands/user-remove.js';
import { teamListCommand } from './commands/team-list.js';
import { teamPlanCommand } from './commands/team-plan.js';
import { userListCommand } from './commands/user-list.js';
import { userRoleCommand } from './commands/user-role.js';
import { userPasswordCommand } from './commands/user-password.js';
import { teamSyncCommand } from './commands/team-sync.js';
import { teamSuspendCommand } from './commands/team-suspend.js';
import { memberSyncCommand } from './commands/member-sync.js';
import { memberRemoveCommand } from './commands/member-remove.js';
import { staffAddCommand, staffDisableCommand, staffListCommand } from './commands/staff.js';
import { syncTokenAddCommand, syncTokenListCommand, syncTokenRevokeCommand } from './commands/sync-token.js';

// A reader that stops early (`keyport clientlist … | head -1`) is no error: the command's work is
// done and its output unwanted; end quietly, as Unix tools do, instead of a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('keyport')
  .description('keyport: OAuth2 credentials for your API')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

for (const command of [
  serveCommand(),
  migrateCommand(),
  teamAddCommand(),
  teamListCommand(),
  teamPlanCommand(),
  userAddCommand(),
  userListCommand(),
  userRoleCommand(),
  userPasswordCommand(),
  userRemoveCommand(),
  teamSyncCommand(),
  teamSuspendCommand(),
  memberSyncCommand(),
  memberRemoveCommand(),
  syncTokenAddCommand(),
  syncTokenListCommand(),
  syncTokenRevokeCommand(),
  serviceAccountAddCommand(),
  appAddCommand(),
  resourceServerAddCommand(),
  clientSetKeyCommand(),
  clientAddKeyCommand(),
  clientRemoveKeyCommand(),
  clientRevokeCommand(),
  clientUpdateCommand(),
  clientListCommand(),
  staffAddCommand(),
  staffDisableCommand(),
  staffListCommand(),
  signingKeysCommand(),
  configCommand(),
]) {
  program.addCommand(command.exitOverride());
}

function longOptionNames(command: Command): string[] {
  return [...command.options.map((o) => o.long?.slice(2) ?? ''), ...command.commands.flatMap(longOptionNames)].filter(
    Boolean,
  );
}

const args = normalizeGoStyleFlags(process.argv.slice(2), new Set(longOptionNames(program)));
try {
  await program.parseAsync(args, { from: 'user' });
} catch (err) {
  // commander has printed its message; usage errors exit 1 like every other error,
  // and with -json they are one JSON object on stdout too.
  const failed = !(err instanceof CommanderError && err.exitCode === 0);
  if (failed && args.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ error: 'invalid_request', message: (err as Error).message.replace(/^error: /, '') })}\n`,
    );
  }
  process.exitCode = failed ? 1 : 0;
}
