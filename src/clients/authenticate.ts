import type { AuthFailures } from '../limits/auth-failures.js';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import { verifySecret } from './secrets.js';
import type { VerifiedSecrets } from './verified-secrets.js';

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
  { clientId, secret, hashes, address }: { clientId: string; secret: string; hashes: ReadonlyArray<string | undefined | null>; address: string },
): Promise<boolean> {
  const candidates = hashes.filter((h): h is string => typeof h === 'string' && h.length > 0);
  const known = candidates.some((hash) => deps.verified.has(clientId, hash, secret));
  // A secret about to cost a bcrypt check reads the counters afresh; one verified before may rely on a clean answer up to a second old.
  const wait = await deps.failures.retryAfter({ clientId, address }, { exact: !known });
  if (wait > 0) throw new ClientThrottled(wait, 'auth_failures');
  if (known) return true;

  const matched = await deps.bcrypt.run(address, async () => {
    for (const hash of candidates) if (await verifySecret(secret, hash)) return hash;
    return null;
  });
  if (matched === undefined) throw new ClientThrottled(1, 'bcrypt_busy');
  if (matched === null) return false;
  deps.verified.remember(clientId, matched, secret);
  return true;
}
