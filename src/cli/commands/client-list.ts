import { positiveInt, runCommand, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const clientListCommand = () =>
  keyportCommand('clientlist', "list a team's keys with their last use (never a secret)")
    .requiredOption('--team <id>', 'team id', positiveInt('team'))
    .option('--limit <n>', 'at most this many', positiveInt('limit'), 100)
    .option('--offset <n>', 'skip this many', (v) => Number.parseInt(v, 10), 0)
    .action((flags: CommonFlags & { team: number; limit: number; offset: number }) =>
      runCommand(flags, async ({ teamService, clientService }) => {
        await teamService.getTeam(flags.team);
        const page = await clientService.list(flags.team, {
          limit: Math.min(flags.limit, 1000),
          offset: Math.max(flags.offset || 0, 0),
        });
        if (flags.json) return { ...page };
        // Text: one line per key, the columns an operator scans for unused keys.
        const lines = page.data.map(
          (c) =>
            `${c.client_id}  ${c.kind}  ${c.environment}  ${c.is_valid ? 'valid' : 'invalid'}  last_used_at=${c.last_used_at ?? 'never'}  usage_count=${c.usage_count}${grantsText(c)}  ${c.name ?? ''}`,
        );
        return { total_count: page.total_count, clients: lines.length ? `\n${lines.join('\n')}` : '(none)' };
      }),
    );

/** A key's roles and own permissions, when it has any, as ` roles=a,b permissions=x:y`. */
const grantsText = (c: { roles: readonly string[]; permissions: readonly string[] }) =>
  (c.roles.length ? `  roles=${c.roles.join(',')}` : '') +
  (c.permissions.length ? `  permissions=${c.permissions.join(',')}` : '');
