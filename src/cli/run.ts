import { InvalidArgumentError } from 'commander';
import { loadConfig, ConfigError, type Config } from '../config.js';
import { KeyportError, OperatorError } from '../errors.js';
import type { Services } from '../services.js';

/** Flags every command takes (docs/contract.md). */
export interface CommonFlags {
  readonly conf?: string;
  readonly json?: boolean;
}

export class UsageError extends Error {}

export function configFrom(flags: CommonFlags): Config {
  return loadConfig({ file: flags.conf });
}

/**
 * Runs a command against the services and prints its result: one JSON object
 * on stdout with `-json`, else `key: value` lines. Errors go to stderr with
 * exit code 1; services validate before they write, so a refusal changes nothing.
 */
export async function runCommand(
  flags: CommonFlags,
  action: (services: Services, config: Config) => Promise<Record<string, unknown>>,
): Promise<void> {
  let services: Services | undefined;
  try {
    const config = configFrom(flags);
    // Loaded when a command runs, not at start: `keyport config` never loads knex or a driver.
    const { openServices } = await import('../services.js');
    // The CLI writes no audit rows itself: its changes are audited from the domain events, as the operator.
    services = await openServices(config, { auditAs: { type: 'operator', id: 'cli' } });
    print(await action(services, config), flags.json === true);
  } catch (err) {
    fail(err, flags.json === true);
  } finally {
    await services?.close();
  }
}

export function print(result: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  printLines(result, '');
}

/**
 * `key: value` lines; a nested object prints as `key.field: value` (e.g. `share.expires_at`), a
 * list of objects as `key:` then a line per object, `  field=value field=value`.
 */
function printLines(result: Record<string, unknown>, prefix: string): void {
  for (const [key, value] of Object.entries(result)) {
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      printLines(value as Record<string, unknown>, `${prefix}${key}.`);
      continue;
    }
    if (Array.isArray(value) && value.some((item) => item !== null && typeof item === 'object')) {
      const rows = value.map(
        (item) =>
          `  ${Object.entries(item as Record<string, unknown>)
            .map(([name, v]) => `${name}=${Array.isArray(v) ? v.join(',') : String(v)}`)
            .join(' ')}`,
      );
      process.stdout.write(`${prefix}${key}:${rows.length ? `\n${rows.join('\n')}` : ' (none)'}\n`);
      continue;
    }
    process.stdout.write(`${prefix}${key}: ${Array.isArray(value) ? value.join(' ') : String(value)}\n`);
  }
}

/**
 * Reports a failure: on stderr, and with `-json` also as one JSON object on
 * stdout (`{"error": CODE, "message": TEXT}`) so a script reads every outcome
 * the same way. Exit code 1 either way.
 */
export function fail(err: unknown, json = false): void {
  const known =
    err instanceof KeyportError ||
    err instanceof OperatorError ||
    err instanceof ConfigError ||
    err instanceof UsageError;
  const message = known ? (err as Error).message : `unexpected error: ${(err as Error).message}`;
  process.stderr.write(`keyport: ${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: errorCode(err), message })}\n`);
  process.exitCode = 1;
}

function errorCode(err: unknown): string {
  if (err instanceof KeyportError) return err.code;
  if (err instanceof ConfigError) return 'invalid_configuration';
  if (err instanceof UsageError || err instanceof OperatorError) return 'invalid_request';
  return 'server_error';
}

/** Parses a positive whole number flag, naming the flag when it is not one. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1)
      throw new InvalidArgumentError(`-${flag} must be a positive whole number`);
    return Number(value);
  };
}
