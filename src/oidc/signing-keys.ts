import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';

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

/** Adds a new signing key in front: tokens are signed with it, the older keys still verify. */
export async function rotateSigningKey(dir: string): Promise<JWK> {
  const { jwks } = await loadOrCreateKeys(dir);
  const key = await newSigningKey();
  writeSecretJson(join(dir, SIGNING_FILE), { keys: [key, ...jwks.keys] });
  return key;
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
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a key file. */
function writeSecretJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
