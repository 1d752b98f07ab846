import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/** A sink for log lines: each call is one JSON line. */
export interface LogOutput {
  write(line: string): void;
}

/**
 * JSON lines on stdout (pino). Nothing logs a request's headers, body or
 * query string: what a line may hold is chosen field by field in
 * request-log.ts, so a secret, token, assertion, password or cookie has no
 * way in. The redact paths are a second fence for objects logged by mistake.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  /** Where the lines go instead of stdout (a test reads them). */
  output?: LogOutput,
): Logger {
  // Asynchronous writes; if stdout is not read fast enough, at most 16 MB wait
  // and later lines are dropped rather than memory growing without bound.
  const destination = output ?? pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024 });
  const options = {
    level: config.logLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const logger = pino(
    {
      ...options,
      redact: {
        paths: [
          'authorization',
          'cookie',
          'password',
          'client_secret',
          'client_assertion',
          'token',
          'access_token',
          'refresh_token',
          '*.authorization',
          '*.cookie',
          '*.password',
          '*.client_secret',
          '*.client_assertion',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
  requestLines.set(logger, pino(options, destination));
  return logger;
}

const requestLines = new WeakMap<Logger, Logger>();

/**
 * The logger for the one line per request: the same output and format, with
 * no redaction pass (it cost 3 % of a token request), since request-log.ts
 * writes only the fields it names, none of which can hold a secret.
 */
export function requestLinesOf(logger: Logger): Logger {
  return requestLines.get(logger) ?? logger;
}
