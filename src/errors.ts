/**
 * Errors of keyport's own surfaces (CLI, admin API, /keys), named after the
 * code on the wire: one class per code, and one body per class. Inside the
 * OAuth surface oidc-provider's own error classes are used instead
 * (`errors.InvalidClient` → `invalid_client`), their 429 rewritten to this
 * same body.
 */
export abstract class KeyportError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  override name = this.constructor.name;

  /** The JSON body on the wire: `{error, message}` (docs/contract.md). */
  body(): ErrorBody {
    return { error: this.code, message: this.message };
  }

  /** Headers the refusal carries besides the body. */
  headers(): Record<string, string> {
    return {};
  }
}

export interface ErrorBody {
  readonly error: string;
  readonly message?: string;
  readonly retry_after?: number;
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

/** A body over the route's limit: 413 with the invalid_request body. */
export class PayloadTooLarge extends KeyportError {
  readonly status = 413;
  readonly code = 'invalid_request';
}

export class NotFound extends KeyportError {
  readonly status = 404;
  readonly code = 'not_found';
}

/**
 * docs/contract.md, Rate limits: on every surface a 429 is
 * `{"error":"rate_limit_exceeded","retry_after":N}` with `Retry-After: N`
 * (RFC 9110 §10.2.3); the X-RateLimit-* headers come from the budget that
 * refused. The admin API's bodies add its `message`.
 */
export class RateLimitExceeded extends KeyportError {
  readonly status = 429;
  readonly code = 'rate_limit_exceeded';
  constructor(
    readonly retryAfter: number,
    message = `rate limit exceeded; retry after ${retryAfter} seconds`,
  ) {
    super(message);
  }

  override body(): ErrorBody {
    return { error: this.code, retry_after: this.retryAfter };
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfter) };
  }
}

/**
 * RFC 9110 §15.6.4: something keyport depends on (the database) did not
 * answer within its bound (`database_timeout_ms`), so nothing was decided:
 * the caller may retry after `retryAfter` seconds. Never a client's mistake,
 * never a 500. Inside the OAuth surface it becomes RFC 6749's
 * `temporarily_unavailable` (oidc/overrides/install-unavailable-answers.ts).
 */
export class ServiceUnavailable extends KeyportError {
  readonly status = 503;
  /** oidc-provider's error handler answers with this status instead of 500. */
  readonly statusCode = 503;
  readonly code = 'temporarily_unavailable';
  constructor(
    readonly retryAfter: number,
    readonly what = 'the database',
  ) {
    super(`${what} is not answering; retry after ${retryAfter} seconds`);
  }

  /** The message is fixed here: drivers and query builders add SQL to an error's message. */
  override body(): ErrorBody {
    return { error: this.code, message: this.answer, retry_after: this.retryAfter };
  }

  get answer(): string {
    return `${this.what} is not answering; retry after ${this.retryAfter} seconds`;
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfter) };
  }
}

export class Conflict extends KeyportError {
  readonly status = 409;
  readonly code = 'conflict';
}

/** A change that would leave a team with no admin (a demotion or removal of its last one). */
export class LastAdmin extends KeyportError {
  readonly status = 409;
  readonly code = 'last_admin';
}

/**
 * A secret-scanning report that is not signed, names a key GitHub does not
 * publish, or whose signature does not verify over the raw body (issue 28 item 4).
 */
export class InvalidSignature extends KeyportError {
  readonly status = 401;
  readonly code = 'invalid_signature';
}

/** A signed report keyport acted on before: GitHub's protocol has no nonce, so the same bytes again are a replay. */
export class ReplayedRequest extends KeyportError {
  readonly status = 409;
  readonly code = 'replayed_request';
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}

/** A refusal of an operator's command or of a start (CLI and serve print its message as is). */
export class OperatorError extends Error {
  override name = 'OperatorError';
}
