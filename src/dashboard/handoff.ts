import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { OperatorError } from '../errors.js';

/** Asymmetric algorithms only: a shared secret (HS*) or `none` is never a hand-off. */
export const HANDOFF_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];
/** The longest a hand-off may live, `exp` − `iat` (issue 26). */
export const HANDOFF_MAX_LIFETIME_SECONDS = 120;

export interface HandoffSettings {
  /** A PEM public key, or the path of a JWKS or PEM file (config: handoff_keys). */
  readonly keys: string;
  readonly issuer: string;
  readonly audience: string;
}

/** What a hand-off token says once it is checked: who, in which team, with which role. */
export interface HandoffClaims {
  readonly jti: string;
  readonly exp: number;
  readonly team: unknown;
  readonly email: unknown;
  readonly role: unknown;
}

/** Why a token is refused; each answers 400 (malformed) or 401 (not the product's, or no more). */
export type HandoffRefusal = 'malformed' | 'signature' | 'issuer' | 'audience' | 'expired' | 'lifetime';

export type HandoffCheck =
  | { readonly outcome: 'valid'; readonly claims: HandoffClaims }
  | { readonly outcome: 'refused'; readonly reason: HandoffRefusal };

type Key = KeyObject | ReturnType<typeof createLocalJWKSet>;

/** The product's key(s), read once at start; a file that holds neither a JWKS nor a PEM stops keyport with its name. */
function loadKeys(setting: string): Key {
  const text = setting.includes('-----BEGIN') ? setting : readSetting(setting);
  try {
    if (text.includes('-----BEGIN')) return createPublicKey(text);
    return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
  } catch (err) {
    throw new OperatorError(`handoff_keys: not a PEM public key or a JWKS (${(err as Error).message})`);
  }
}

function readSetting(path: string): string {
  if (!existsSync(path)) throw new OperatorError(`handoff_keys: no file ${path}`);
  return readFileSync(path, 'utf8');
}

export function createHandoffVerifier(settings: HandoffSettings, clockSkewSeconds: number) {
  const key = loadKeys(settings.keys);
  return async function checkHandoff(token: string): Promise<HandoffCheck> {
    const refused = (reason: HandoffRefusal): HandoffCheck => ({ outcome: 'refused', reason });
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token) || token.length > 8192) return refused('malformed');
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        algorithms: HANDOFF_ALGORITHMS,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'iat', 'jti'],
        clockTolerance: clockSkewSeconds,
      });
      payload = verified.payload;
    } catch (err) {
      return refused(reasonOf(err));
    }
    const { iat, exp, jti } = payload as Required<Pick<JWTPayload, 'iat' | 'exp' | 'jti'>>;
    if (typeof jti !== 'string' || !jti || jti.length > 255) return refused('malformed');
    // RFC 7519 §4.1.6: iat is the start; a hand-off lives at most two minutes from it, and never starts in the future.
    if (exp - iat > HANDOFF_MAX_LIFETIME_SECONDS) return refused('lifetime');
    if (iat > Date.now() / 1000 + clockSkewSeconds) return refused('lifetime');
    return { outcome: 'valid', claims: { jti, exp, team: payload.team, email: payload.email, role: payload.role } };
  };
}

function reasonOf(err: unknown): HandoffRefusal {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'issuer';
    if (err.claim === 'aud') return 'audience';
    if (err.claim === 'iat' || err.claim === 'nbf') return 'lifetime';
    return 'malformed';
  }
  // Bad signature, an algorithm off the list (none, HS256), or no key with that kid.
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JOSEAlgNotAllowed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  )
    return 'signature';
  return 'malformed';
}
