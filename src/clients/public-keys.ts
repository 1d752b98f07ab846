import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { InvalidRequest } from '../errors.js';

const MIN_RSA_BITS = 2048;
const EC_CURVES = new Set(['prime256v1']);

/**
 * Validates a PEM public key for private_key_jwt (RFC 7523) and returns it in
 * canonical SPKI PEM. Refuses private keys (the customer keeps those), keys
 * other than RSA ≥ 2048 bits or EC P-256, and anything that is not a key.
 */
export function normalizePublicKey(pem: string, field = 'public_key'): string {
  if (typeof pem !== 'string' || pem.length > 16_384) throw new InvalidRequest(field, 'must be a PEM public key');
  if (/PRIVATE KEY-----/.test(pem) || isPrivateKey(pem)) {
    throw new InvalidRequest(field, 'is a private key; register only the public key and keep the private key yourself');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new InvalidRequest(field, 'is not a PEM public key');
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new InvalidRequest(field, `RSA keys must be at least ${MIN_RSA_BITS} bits (this one has ${bits})`);
  } else if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    if (!EC_CURVES.has(curve)) throw new InvalidRequest(field, 'EC keys must use the P-256 curve (ES256)');
  } else {
    throw new InvalidRequest(field, `must be an RSA or EC key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey({ key: pem, format: 'pem' });
    return true;
  } catch {
    return false;
  }
}

/** JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Accepts a public key given as a JWK or a JWKS of one key, refusing any
 * private part, and returns it as PEM for `normalizePublicKey`.
 */
export function pemFromJwk(value: object, field = 'public_key'): string {
  const keys =
    'keys' in value && Array.isArray((value as { keys: unknown }).keys) ? (value as { keys: unknown[] }).keys : [value];
  if (keys.length !== 1 || typeof keys[0] !== 'object' || keys[0] === null)
    throw new InvalidRequest(field, 'a JWKS must hold exactly one key');
  const jwk = keys[0] as Record<string, unknown>;
  if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) {
    throw new InvalidRequest(
      field,
      'holds private key parts; register only the public key and keep the private key yourself',
    );
  }
  try {
    return createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
  } catch {
    throw new InvalidRequest(field, 'is not a valid public JWK');
  }
}

/** A registered public key and its id. */
export interface PublicKey {
  readonly kid: string;
  readonly pem: string;
}

/** At most this many keys per JWT service account: the one in use, the next, and one more. */
export const MAX_PUBLIC_KEYS = 3;

const KID = /^[\x21-\x7e]{1,100}$/;

/** A customer's `kid`: 1 to 100 printable ASCII characters, no spaces. */
export function checkKid(kid: string, field = 'kid'): string {
  if (typeof kid !== 'string' || !KID.test(kid))
    throw new InvalidRequest(field, 'must be 1 to 100 printable ASCII characters without spaces');
  return kid;
}

/**
 * A PEM's public JWK, parsed once: every read of a JWT service account's row
 * needs its keys' thumbprints and JWKs, and parsing a PEM cost a third of a
 * private_key_jwt request. A pure function of the PEM text; bounded.
 */
const parsed = new Map<string, JsonWebKey | null>();
function publicJwkOf(pem: string): JsonWebKey | null {
  let jwk = parsed.get(pem);
  if (jwk === undefined) {
    try {
      jwk = createPublicKey(pem).export({ format: 'jwk' }) as JsonWebKey;
    } catch {
      jwk = null;
    }
    if (parsed.size >= 5000) parsed.delete(parsed.keys().next().value!);
    parsed.set(pem, jwk);
  }
  return jwk;
}

const thumbprints = new Map<string, string>();

/** RFC 7638 JWK thumbprint (SHA-256): the kid of a key registered without one. */
export function thumbprint(pem: string): string {
  let kid = thumbprints.get(pem);
  if (kid !== undefined) return kid;
  const jwk = publicJwkOf(pem);
  if (!jwk) throw new TypeError('not a public key');
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  kid = createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  if (thumbprints.size >= 5000) thumbprints.delete(thumbprints.keys().next().value!);
  thumbprints.set(pem, kid);
  return kid;
}

/** The key as a JWK carrying its kid, for oidc-provider to match an assertion's `kid` header. */
export function jwkFor(key: PublicKey): object | undefined {
  const jwk = publicJwkOf(key.pem);
  return jwk ? { ...jwk, kid: key.kid } : undefined;
}

/** The `kid` of a JWK given to the admin API, if it has one. */
export function kidOfJwk(value: object): string | undefined {
  const keys =
    'keys' in value && Array.isArray((value as { keys: unknown }).keys) ? (value as { keys: unknown[] }).keys : [value];
  const kid = (keys[0] as { kid?: unknown } | undefined)?.kid;
  return typeof kid === 'string' ? checkKid(kid, 'public_key.kid') : undefined;
}
