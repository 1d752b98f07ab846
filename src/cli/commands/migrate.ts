import { runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

// openServices applies pending migrations; this command reports the result.
export const migrateCommand = () =>
  keyportCommand('migrate', 'apply database migrations').action((flags: CommonFlags) =>
    runCommand(flags, async ({ db }) => ({
      migrations: await (await import('../../persistence/sql/migrate.js')).migrationState(db),
    })),
  );
