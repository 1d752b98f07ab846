import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { OperatorError } from '../errors.js';

/** What KEYS_DIR holds: token signing keys (private JWKs, newest first) and cookie keys. */
export interface KeyMaterial {
  readonly jwks: { readonly keys: JWK[] };
  readonly cookieKeys: string[];
}

const SIGNING_FILE = 'signing-keys.json';
const COOKIE_FILE = 'cookie-keys.json';

/** Reads the keys, creating them on first start (files 0600, folder 0700). */
export async function loadOrCreateKeys(dir: string): Promise<KeyMaterial> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let jwks = readJson<{ keys: JWK[] }>(join(dir, SIGNING_FILE));
  if (!jwks?.keys?.length) {
    jwks = { keys: [await newSigningKey()] };
    writeSecretJson(join(dir, SIGNING_FILE), jwks);
  }
  let cookies = readJson<{ keys: string[] }>(join(dir, COOKIE_FILE));
  if (!cookies?.keys?.length) {
    cookies = { keys: [randomBytes(32).toString('base64url')] };
    writeSecretJson(join(dir, COOKIE_FILE), cookies);
  }
  return { jwks, cookieKeys: cookies.keys };
}

/**
 * Reads the keys a running server picks up, creating nothing: files that
 * went missing or empty (a volume not mounted yet, a half-finished copy)
 * leave the keys in use alone, rather than each process making its own.
 */
export function readKeys(dir: string): KeyMaterial | undefined {
  const jwks = readJson<{ keys: JWK[] }>(join(dir, SIGNING_FILE));
  const cookies = readJson<{ keys: string[] }>(join(dir, COOKIE_FILE));
  if (!jwks?.keys?.length || !cookies?.keys?.length) return undefined;
  return { jwks, cookieKeys: cookies.keys };
}

/** Adds a new signing key in front: tokens are signed with it, the older keys still verify. */
export async function rotateSigningKey(dir: string): Promise<JWK> {
  const { jwks } = await loadOrCreateKeys(dir);
  const key = await newSigningKey();
  writeSecretJson(join(dir, SIGNING_FILE), { keys: [key, ...jwks.keys] });
  return key;
}

/**
 * Removes a published key: tokens signed with it stop verifying. The newest
 * key (the one signing now) cannot be retired: rotate first.
 */
export async function retireSigningKey(dir: string, kid: string): Promise<{ retired: string; remaining: string[] }> {
  const { jwks } = await loadOrCreateKeys(dir);
  const index = jwks.keys.findIndex((key) => key.kid === kid);
  if (index === -1)
    throw new SigningKeyError(`no signing key has kid ${kid}; published: ${jwks.keys.map((k) => k.kid).join(', ')}`);
  if (index === 0)
    throw new SigningKeyError(
      `${kid} is the key signing now; run \`keyport signingkeys rotate\` first, then retire it`,
    );
  const keys = jwks.keys.filter((key) => key.kid !== kid);
  writeSecretJson(join(dir, SIGNING_FILE), { keys });
  return { retired: kid, remaining: keys.map((k) => k.kid!) };
}

export class SigningKeyError extends OperatorError {
  override name = 'SigningKeyError';
}

/** Changes whenever either key file is rewritten (each write is a rename, so a new inode and mtime). */
export function keysVersion(dir: string): string {
  return [SIGNING_FILE, COOKIE_FILE]
    .map((file) => {
      try {
        const st = statSync(join(dir, file));
        return `${st.ino}:${st.mtimeMs}:${st.size}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a key file. */
function writeSecretJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
