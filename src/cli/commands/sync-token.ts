import { runCommand, UsageError, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

/** The CLI acts as the operator, as every command does (run.ts). */
const CLI = { type: 'operator', id: 'cli' } as const;

/** A product-wide sync token (issue 26 item 3), printed this once; keyport keeps only its SHA-256. */
export const syncTokenAddCommand = () =>
  keyportCommand(
    'synctokenadd',
    'make a sync token: a Bearer token for the sync routes (/api/teams/by-external-id/…) only; printed once',
  )
    .requiredOption('--name <name>', 'what the token is for, e.g. "billing backend"')
    .action((flags: CommonFlags & { name: string }) =>
      runCommand(flags, async ({ syncTokens }) => {
        const { token, view } = await syncTokens.issue(flags.name, CLI);
        return { ...view, token };
      }),
    );

export const syncTokenListCommand = () =>
  keyportCommand('synctokenlist', 'list the sync tokens (never the tokens themselves)').action((flags: CommonFlags) =>
    runCommand(flags, async ({ syncTokens }) => {
      const data = await syncTokens.list();
      if (flags.json) return { total_count: data.length, data };
      const lines = data.map((t) =>
        [t.token_id, t.name, t.created_at, t.revoked_at ? `revoked ${t.revoked_at}` : ''].join('  ').trimEnd(),
      );
      return { total_count: data.length, sync_tokens: lines.length ? `\n${lines.join('\n')}` : '(none)' };
    }),
  );

/** Revokes at once: the next call with the token answers 401. */
export const syncTokenRevokeCommand = () =>
  keyportCommand('synctokenrevoke', 'revoke a sync token; the next call with it answers 401')
    .requiredOption('--id <id>', 'the token_id (synctokenlist)')
    .action((flags: CommonFlags & { id: string }) =>
      runCommand(flags, async ({ syncTokens }) => {
        if (!/^[1-9]\d{0,9}$/.test(flags.id)) throw new UsageError('-id must be a token_id (synctokenlist)');
        const { view, outcome } = await syncTokens.revoke(Number(flags.id), CLI);
        return { ...view, outcome };
      }),
    );
