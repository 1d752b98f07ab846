import type { ClientRecord } from '../clients/client.js';

/**
 * What verifying a key came to: one closed set, as unkey's `keys/status.go`
 * has one. Each outcome carries what its two mappings need (wire.ts for the
 * `/keys/verify` body, usage-outcome.ts for the usage counts) and, apart
 * from them, an internal `reason` that is for logs only and never sent.
 * A new outcome added here fails to compile until both mappings name it.
 */
export type VerifyOutcome =
  | { readonly kind: 'not_found'; readonly reason: NotFoundReason }
  | { readonly kind: 'revoked'; readonly key: FoundKey }
  | { readonly kind: 'expired'; readonly key: FoundKey }
  | {
      readonly kind: 'no_api_access';
      readonly key: FoundKey;
      /** The key's budget as it stands (nothing spent); null where no one looked (introspection). */
      readonly ratelimit: RateLimitState | null;
    }
  | {
      readonly kind: 'insufficient_scope';
      readonly key: FoundKey;
      readonly missing: readonly string[];
      /** The key's budget as it stands (nothing spent). */
      readonly ratelimit: RateLimitState | null;
    }
  | {
      /** A permission the call needs (`resource:action`) is granted by none of the key's (issue 28 item 2). */
      readonly kind: 'insufficient_permissions';
      readonly key: FoundKey;
      readonly missing: readonly string[];
      readonly ratelimit: RateLimitState | null;
    }
  | {
      readonly kind: 'rate_limited';
      readonly key: FoundKey;
      readonly ratelimit: RateLimitState;
      /** Seconds until the exceeded window has room. */
      readonly retryAfter: number;
    }
  | { readonly kind: 'usage_exceeded'; readonly key: FoundKey; readonly ratelimit: RateLimitState | null }
  | {
      readonly kind: 'valid';
      readonly key: FoundKey;
      /** The budget after this call; null when no budget was spent (introspection looks, it does not call). */
      readonly ratelimit: RateLimitState | null;
      /** Credits left after this call, when the key has credits and they were spent. */
      readonly credits: number | undefined;
      readonly lease: Lease | undefined;
    };

export type VerifyOutcomeKind = VerifyOutcome['kind'];

/** Why nothing was found: internal, the wire says NOT_FOUND for all of them. */
export type NotFoundReason =
  /** A key of the current format whose checksum fails: a typo or made up, answered with no query. */
  | 'bad_checksum'
  /** No key has this digest and no access token has this value. */
  | 'unknown'
  /** The digest is of a secret that is no API key (an app's or a resource server's). */
  | 'not_an_api_key'
  /** An access token whose client is gone. */
  | 'token_client_gone'
  /** An access token for sign-in only (no API scope, not issued for the API resource). */
  | 'token_not_for_apis';

/** A key (or an access token) that exists: its client and the scopes it holds now. */
export interface FoundKey {
  readonly kind: 'found';
  readonly client: ClientRecord;
  readonly scopes: readonly string[];
  /** What the key may do now (issue 28 item 2): its own permissions and its roles', sorted. */
  readonly permissions: readonly string[];
  /** An API key, not an OAuth access token (both spend the client's budget and may get leases). */
  readonly isKey: boolean;
  /**
   * When what was presented stops working (the key's expiry, the end of the
   * rotation's grace period for the previous secret, or an access token's
   * expiry), epoch ms; null: no end.
   * A lease never outlives it.
   */
  readonly validUntilMs: number | null;
}

export interface RateLimitState {
  readonly limit: number;
  readonly remaining: number;
  readonly reset: number;
}

/** A share of a key's budget handed to a guard: `calls` calls, within `ttl_ms` milliseconds. */
export interface Lease {
  readonly calls: number;
  readonly ttl_ms: number;
}

/** A lease never outlives this, so a change made by hand in the table (not pushed to guards) is felt within it. */
export const LEASE_MAX_MS = 5000;

/** No lease shorter than this is worth its spent calls: the key ends sooner, so every call comes back. */
export const MIN_LEASE_MS = 100;
