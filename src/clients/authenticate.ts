import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import { keyDigest, verifySecret } from './secrets.js';
import type { SharedVerifications, VerifiedSecrets } from './verified-secrets.js';

/**
 * Client authentication by secret, apart from any HTTP framework: the token
 * endpoint (through oidc-provider), the admin API and any later verify
 * endpoint share it. The caller's address is an argument: throttles count
 * failures per (client, address) and per address, so a flood of wrong
 * secrets refuses its source and never the owner calling from elsewhere.
 */
export interface SecretCheckDeps {
  readonly failures: AuthFailures;
  readonly bcrypt: BcryptGate;
  readonly verified: VerifiedSecrets;
  /** With Redis: matches any process has seen, so a cold process needs no bcrypt either. */
  readonly shared?: SharedVerifications;
}

/** Why a check could not be made; the caller answers 429 with `retryAfter`. */
export class ClientThrottled extends Error {
  constructor(
    readonly retryAfter: number,
    readonly reason: 'auth_failures' | 'bcrypt_busy',
  ) {
    super(reason === 'auth_failures' ? 'too many failed authentications' : 'too many secret checks in progress');
  }
}

/**
 * Whether `secret` matches one of the client's stored hashes (the current
 * one, and the previous one during a rotation's grace period). A match seen
 * before is remembered; otherwise bcrypt runs through the gate, and a full
 * gate refuses at once. A throttled (client, address) or address is refused
 * either way, before any bcrypt work.
 */
export async function secretMatches(
  deps: SecretCheckDeps,
  {
    clientId,
    secrets,
    hashes,
    address,
    digest,
  }: {
    clientId: string;
    secrets: readonly string[];
    hashes: ReadonlyArray<string | undefined | null>;
    address: string;
    /** The SHA-256 of the current secret when keyport generated it (140 random bits): checked instead of bcrypt. */
    digest?: string;
  },
): Promise<boolean> {
  const candidates = hashes.filter((h): h is string => typeof h === 'string' && h.length > 0);
  const forms = [...new Set(secrets)];
  const known = forms.find((secret) => candidates.some((hash) => deps.verified.has(clientId, hash, secret)));
  // A secret about to cost a bcrypt check reads the counters afresh; one verified before may rely on a clean answer up to a second old.
  const wait = await deps.failures.retryAfter({ clientId, address }, { exact: known === undefined });
  if (wait > 0) throw new ClientThrottled(wait, 'auth_failures');
  if (known !== undefined) return true;

  // A generated secret is too long and random to guess: its digest proves it as well as bcrypt would,
  // so a cold client (a new process, a new host) costs no bcrypt check at all.
  if (digest && candidates[0]) {
    const expected = Buffer.from(digest);
    const presented = forms.find((secret) => {
      const actual = Buffer.from(keyDigest(secret));
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    });
    if (presented !== undefined) {
      deps.verified.remember(clientId, candidates[0], presented);
      return true;
    }
  }

  const seen = await deps.shared?.find(
    clientId,
    candidates.flatMap((hash) => forms.map((secret) => [hash, secret] as const)),
  );
  if (seen) {
    deps.verified.remember(clientId, seen[0], seen[1]);
    return true;
  }
  // A check of the same secret may have finished while this request waited on the throttle: no second bcrypt run.
  if (forms.some((secret) => candidates.some((hash) => deps.verified.has(clientId, hash, secret)))) return true;
  const matched = await sharedCheck(deps, clientId, candidates, forms, address);
  if (matched === undefined) throw new ClientThrottled(1, 'bcrypt_busy');
  if (matched === null) return false;
  deps.verified.remember(clientId, matched.hash, matched.secret);
  await deps.shared?.remember(clientId, matched.hash, matched.secret);
  return true;
}

type Match = { hash: string; secret: string } | null;

// Checks in progress, by (client, hashes, secrets): a cold client's burst of
// identical requests waits on one bcrypt run instead of queueing one each.
const inProgress = new WeakMap<SecretCheckDeps, Map<string, Promise<Match | undefined>>>();

function sharedCheck(
  deps: SecretCheckDeps,
  clientId: string,
  hashes: readonly string[],
  secrets: readonly string[],
  address: string,
): Promise<Match | undefined> {
  let running = inProgress.get(deps);
  if (!running) inProgress.set(deps, (running = new Map()));
  const key = createHash('sha256')
    .update(JSON.stringify([clientId, hashes, secrets]))
    .digest('base64url');
  const shared = running.get(key);
  if (shared) return shared;
  const check = deps.bcrypt
    .run(address, async () => {
      for (const hash of hashes) {
        for (const secret of secrets) {
          if (!(await verifySecret(secret, hash))) continue;
          // Remembered before the check leaves `running`: a request arriving in between finds one or the other.
          deps.verified.remember(clientId, hash, secret);
          return { hash, secret };
        }
      }
      return null;
    })
    .finally(() => running.delete(key));
  running.set(key, check);
  return check;
}
