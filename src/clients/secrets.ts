import { hash, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';
import bcrypt from 'bcrypt';
import type { Environment } from './client.js';

/** bcrypt cost for client secrets; `htpasswd -nbBC 10` writes the same. */
export const SECRET_HASH_COST = 10;

/** bcrypt reads at most 72 bytes; anything longer cannot be a secret of ours. */
export const MAX_SECRET_BYTES = 72;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Bitcoin's base58: no 0, O, I, l, so a secret read aloud or copied by hand survives.
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** 24 base58 characters: 24 × log2(58) ≈ 140 bits from the CSPRNG. */
const SECRET_RANDOM_LENGTH = 24;
/** CRC32 of everything before it, in base58, padded to 6 characters (58⁶ > 2³²), as GitHub's tokens carry one. */
const CHECKSUM_LENGTH = 6;
const HINT_LENGTH = 4;
/** A key of the current format: `<prefix>_sk_<env>_<24 random><6 checksum>`. */
const KEY_FORMAT = /^([a-z][a-z0-9]{0,15})_sk_(prod|dev)_([1-9A-HJ-NP-Za-km-z]{24})([1-9A-HJ-NP-Za-km-z]{6})$/;

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** 16 random letters and digits (≈ 95 bits): unguessable, and safe in any URL or header. */
export function generateClientId(): string {
  return randomString(ALPHANUMERIC, 16);
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE58[n % 58]! + out;
    n = Math.floor(n / 58);
  }
  return out;
}

/**
 * `<prefix>_sk_<env>_<random><checksum>`: the prefix names the product
 * (`KEYPORT_KEY_PREFIX`) so secret scanners find a leaked key, and the
 * checksum lets a guard or a scanner reject a mistyped or made-up key with no
 * round trip. Every character is base58 or `_`: safe raw in a Basic header.
 */
export function generateClientSecret(environment: Environment, prefix = 'keyport'): string {
  const body = `${prefix}_sk_${environment}_${randomString(BASE58, SECRET_RANDOM_LENGTH)}`;
  return body + checksum(body);
}

/**
 * Whether `key` has the current format and a valid checksum. Keys made before
 * the format had a checksum (`keyport_sk_<env>_` and 32 characters) do not
 * match; callers treat them as possibly valid and ask the database.
 */
export function hasValidChecksum(key: string): boolean {
  const match = KEY_FORMAT.exec(key);
  return match !== null && checksum(key.slice(0, -CHECKSUM_LENGTH)) === match[4];
}

/** Whether `key` has the shape of a secret keyport generated, of this format or the one before it. */
export function looksGenerated(key: string): boolean {
  return /^[a-z][a-z0-9]{0,15}_sk_(prod|dev)_[1-9A-HJ-NP-Za-km-z]{24,32}$/.test(key);
}

/** Whether `key` claims the current format (right shape), whatever its checksum. */
export function looksLikeCurrentKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

/** The first characters of the random part, shown in lists so a key can be recognised. */
export function secretHint(secret: string): string {
  const random = /^[a-z][a-z0-9]*_sk_[a-z]+_(.+)$/.exec(secret)?.[1] ?? secret;
  return random.slice(0, HINT_LENGTH);
}

/**
 * The digest a key is found by when it is used directly as an API key
 * (indexed, so no bcrypt per call; as Unkey and GitHub do). SHA-256 is right
 * here: a key has 140 random bits, so its digest cannot be reversed by guessing.
 */
export function keyDigest(key: string): string {
  return hash('sha256', key, 'base64url');
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

const bindings = new Map<string, string>();

/**
 * What a key's digest is bound to: the stored bcrypt hash it was made with
 * (see migration 17). Asked at every read of a client row, so kept per hash
 * (a bcrypt hash is public-safe to keep in memory: it is in the row).
 */
export function digestBinding(secretHash: string): string {
  let binding = bindings.get(secretHash);
  if (binding === undefined) {
    binding = hash('sha256', secretHash, 'base64url');
    if (bindings.size >= 10_000) bindings.delete(bindings.keys().next().value!);
    bindings.set(secretHash, binding);
  }
  return binding;
}
