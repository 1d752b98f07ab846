import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who is calling, as keyport verified the key: put on `req.keyport` / `ctx.state.keyport`. */
export interface KeyportIdentity {
  readonly team_id: number | null;
  readonly client_id: string;
  readonly environment: 'prod' | 'dev' | string;
  readonly scopes: readonly string[];
  /** The key's own metadata as set in keyport (a frozen JSON object), null when it has none. */
  readonly meta: Readonly<Record<string, unknown>> | null;
  /** What the key may do now (`resource:action`, wildcards as held): its own permissions and its roles'. */
  readonly permissions: readonly string[];
}

export interface GuardOptions {
  /** keyport's public base URL (its ISSUER). */
  readonly issuer: string;
  /** A resource server's credentials: `npx keyport resourceserveradd -name my-api`. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long one verification may take before the request is answered 503 (default 2000). */
  readonly timeoutMs?: number;
  /** Told why keyport could not be reached (never a key). */
  readonly onError?: (err: unknown) => void;
  /**
   * Busy keys are verified once per lease (default true): keyport spends a
   * share of the key's budget up front and the guard allows those calls
   * itself, while keyport's event stream says nothing changed. `false`: a
   * round trip for every call.
   */
  readonly cache?: boolean;
  /** The most calls one lease may hold (default and at most 1000, what keyport grants at most). */
  readonly maxLease?: number;
  /** Told the client_id of each key keyport says changed (revoked, rotated, new scopes or expiry). */
  readonly onChange?: (clientId: string) => void;
  /**
   * JWT access tokens (a resource server made with `keyport resourceserveradd
   * -name N -jwt`): checked here with keyport's JWKS (signature, issuer,
   * audience, expiry, scopes) and confirmed by keyport once per token while the
   * event stream beats. `true`, or the audience (default
   * `urn:keyport:rs:<clientId>`), the expected `iss` (default `issuer`) and a
   * clock tolerance in seconds (default 0). Default false: a JWT is verified at
   * keyport on each call, as an opaque token is.
   */
  readonly jwt?:
    boolean | { readonly audience?: string; readonly issuer?: string; readonly clockToleranceSeconds?: number };
  /**
   * How long a lease's renewal waits for others to go with it in one
   * `POST /keys/verify/batch` (default 20 ms; 0: the next turn of the event
   * loop). A renewal is asked while a quarter of the lease is left, so the
   * wait costs no call anything.
   */
  readonly renewalWaitMs?: number;
}

export interface RouteOptions {
  /** Scopes this route needs; a key without them gets 403 insufficient_permissions. */
  readonly scopes?: readonly string[];
  /**
   * Permissions (`resource:action`) this route needs, each granted by the key's own or its roles'
   * (`projects:*` grants every projects action); a key without them gets 403 insufficient_permissions.
   */
  readonly permissions?: readonly string[];
}

export interface Verdict {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly identity?: KeyportIdentity;
  readonly body?: Readonly<Record<string, unknown>>;
}

export interface KeyportGuard {
  /** Whether leases are in use now: keyport's event stream is connected and beating. */
  readonly live: boolean;
  /**
   * Ends the event stream, drops every lease and reports the calls they
   * served; resolves once keyport has the report (the guard still works,
   * one round trip per call).
   */
  close(): Promise<void>;
  /**
   * The decision the middleware (and the gateway check, `keyport-guard serve`)
   * make on one call: the key read from `rawHeaders` (Node's name/value list:
   * `Authorization: Bearer …` or `x-api-key`), a key in `url`'s query refused,
   * `scopes` needed (none: at least one API scope).
   */
  check(
    request: { rawHeaders?: readonly string[]; url?: string; ip?: string },
    scopes?: readonly string[],
    permissions?: readonly string[],
  ): Promise<Verdict>;
  /** Verifies one key (or access token) directly. */
  verify(
    key: string,
    options?: { scopes?: readonly string[]; permissions?: readonly string[]; cost?: number; ip?: string },
  ): Promise<Verdict>;
  express(
    options?: RouteOptions,
  ): (req: IncomingMessage & { keyport?: KeyportIdentity }, res: ServerResponse, next: (err?: unknown) => void) => void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Koa's context, without depending on Koa's types
  koa(options?: RouteOptions): (ctx: any, next: () => Promise<unknown>) => Promise<void>;
}

export function keyportGuard(options: GuardOptions): KeyportGuard;
/** Whether a key could be keyport's, checked without a round trip (format and checksum). */
export function isPlausibleKey(key: unknown): boolean;
/** Whether `held` permissions grant every one of `needed` (wildcards `projects:*`, `*:read`), as keyport checks them. */
export function grantsAll(held: readonly string[], needed: readonly string[]): boolean;
/** The first characters of a key: all that may be logged of it. */
export function fingerprint(key: unknown): string;
