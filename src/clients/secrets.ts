import { randomInt } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Environment } from './client.js';

/** bcrypt cost for client secrets; `htpasswd -nbBC 10` writes the same. */
export const SECRET_HASH_COST = 10;

/** bcrypt reads at most 72 bytes; anything longer cannot be a secret of ours. */
export const MAX_SECRET_BYTES = 72;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Bitcoin's base58: no 0, O, I, l, so a secret read aloud or copied by hand survives.
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** 32 base58 characters: 32 × log2(58) ≈ 187 bits from the CSPRNG. */
const SECRET_RANDOM_LENGTH = 32;
const HINT_LENGTH = 4;

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** 16 random letters and digits (≈ 95 bits): unguessable, and safe in any URL or header. */
export function generateClientId(): string {
  return randomString(ALPHANUMERIC, 16);
}

/** `keyport_sk_<env>_<base58>`: the prefix lets secret scanners find a leaked key. */
export function generateClientSecret(environment: Environment): string {
  return `keyport_sk_${environment}_${randomString(BASE58, SECRET_RANDOM_LENGTH)}`;
}

/** The first characters of the random part, shown in lists so a key can be recognised. */
export function secretHint(secret: string): string {
  const random = /^keyport_sk_[a-z]+_(.+)$/.exec(secret)?.[1] ?? secret;
  return random.slice(0, HINT_LENGTH);
}

export function hashSecret(secret: string): Promise<string> {
  return bcrypt.hash(secret, SECRET_HASH_COST);
}

/**
 * Checks a presented secret against a stored bcrypt hash. `$2y$` (PHP and
 * htpasswd) and `$2a$` are the same algorithm as `$2b$` for secrets under 72
 * bytes. Over-long input is refused before any bcrypt work, so a 1 KB secret
 * costs nothing.
 */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  if (!secret || Buffer.byteLength(secret, 'utf8') > MAX_SECRET_BYTES) return false;
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return false;
  return bcrypt.compare(secret, hash.replace(/^\$2y\$/, '$2b$'));
}
