/**
 * Errors of keyport's own surface (CLI and admin API), named after the code
 * on the wire. Inside the OAuth surface oidc-provider's own error classes are
 * used instead (`errors.InvalidClient` → `invalid_client`).
 */
export abstract class KeyportError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  override name = this.constructor.name;
}

export class InvalidRequest extends KeyportError {
  readonly status = 400;
  readonly code = 'invalid_request';
  /** The request field at fault, so a caller knows what to correct. */
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class InvalidToken extends KeyportError {
  readonly status = 401;
  readonly code = 'invalid_token';
}

export class InsufficientPermissions extends KeyportError {
  readonly status = 403;
  readonly code = 'insufficient_permissions';
}

export class KeyLimitReached extends KeyportError {
  readonly status = 403;
  readonly code = 'key_limit_reached';
}

export class NotFound extends KeyportError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class RateLimitExceeded extends KeyportError {
  readonly status = 429;
  readonly code = 'rate_limit_exceeded';
  constructor(readonly retryAfter: number) {
    super(`rate limit exceeded; retry after ${retryAfter} seconds`);
  }
}

export class Conflict extends KeyportError {
  readonly status = 409;
  readonly code = 'conflict';
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}

/** A refusal of an operator's command or of a start (CLI and serve print its message as is). */
export class OperatorError extends Error {
  override name = 'OperatorError';
}
