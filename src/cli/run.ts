import { InvalidArgumentError } from 'commander';
import { loadConfig, ConfigError, type Config } from '../config.js';
import { KeyportError, OperatorError } from '../errors.js';
import { openServices, type Services } from '../services.js';

/** Flags every command takes (CONTRACT.md). */
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
export async function runCommand(flags: CommonFlags, action: (services: Services, config: Config) => Promise<Record<string, unknown>>): Promise<void> {
  let services: Services | undefined;
  try {
    const config = configFrom(flags);
    services = await openServices(config);
    print(await action(services, config), flags.json === true);
  } catch (err) {
    fail(err);
  } finally {
    await services?.close();
  }
}

export function print(result: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  for (const [key, value] of Object.entries(result)) {
    if (value === undefined) continue;
    process.stdout.write(`${key}: ${Array.isArray(value) ? value.join(' ') : String(value)}\n`);
  }
}

export function fail(err: unknown): void {
  const known = err instanceof KeyportError || err instanceof OperatorError || err instanceof ConfigError || err instanceof UsageError;
  process.stderr.write(`keyport: ${known ? (err as Error).message : `unexpected error: ${(err as Error).message}`}\n`);
  process.exitCode = 1;
}

/** Parses a positive whole number flag, naming the flag when it is not one. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`-${flag} must be a positive whole number`);
    return Number(value);
  };
}
