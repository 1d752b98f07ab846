// JWT access tokens at @keyport/guard (RFC 9068): a resource server that chose
// them (`keyport resourceserveradd -name N -jwt`) gets tokens signed with
// keyport's keys, whose `aud` is its own resource indicator. The guard checks
// each one here with keyport's JWKS (fetched once, cached, fetched again for a
// key id it does not know, so a rotation is followed): signature, `typ`,
// issuer, audience, expiry and scopes, with no round trip. See README.md,
// "JWT access tokens".
import { createPublicKey, verify as verifySignature, constants } from 'node:crypto';

/** Three base64url parts, the first a JSON object: a JWS in compact form. */
const COMPACT_JWS = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The most characters a token may have (keyport's are about 1,000). */
export const MAX_JWT_LENGTH = 4096;

/**
 * Whether `value` has the shape of a JWT (it may still be anything): cheap, as
 * it runs on every call; its characters are checked with its signature.
 */
export function looksLikeJwt(value) {
  if (typeof value !== 'string' || value.length > MAX_JWT_LENGTH || !value.startsWith('eyJ')) return false;
  const first = value.indexOf('.');
  const second = first < 0 ? -1 : value.indexOf('.', first + 1);
  return second > first + 1 && second < value.length - 1 && value.indexOf('.', second + 1) < 0;
}

/** How each algorithm keyport may sign with is checked. */
const ALGORITHMS = {
  RS256: (key) => ({ key }),
  PS256: (key) => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  ES256: (key) => ({ key, dsaEncoding: 'ieee-p1363' }),
};

/** A key id not in the cached set is fetched for at most once in this long. */
const REFETCH_COOLDOWN_MS = 1000;
/** The cached set is fetched again after this long, so a retired key stops being accepted. */
const MAX_KEYS_AGE_MS = 10 * 60_000;
/** Tokens whose signature was checked, remembered so a busy token is not checked again. */
const MAX_CHECKED = 10_000;

function decodeJson(part) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The local check of JWT access tokens for one resource server: `issuer`
 * keyport's URL, `audience` the resource indicator its tokens carry;
 * `getJson(url)` fetches keyport's discovery document and JWKS (a JSON value,
 * or throws).
 */
export function createJwtChecker({ issuer, audience, getJson, clockToleranceSeconds = 0, onError = () => {} }) {
  let keys = new Map();
  let fetchedAt = 0;
  let fetching;
  let jwksUri;
  /** token → its answer, for good tokens (signature, issuer, audience; dropped when the key set changes). */
  let checked = new Map();

  async function fetchKeys() {
    if (!jwksUri) {
      const discovery = await getJson(
        new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`).href,
      );
      if (typeof discovery?.jwks_uri !== 'string') throw new Error("keyport's discovery document has no jwks_uri");
      jwksUri = discovery.jwks_uri;
    }
    const set = await getJson(jwksUri);
    const next = new Map();
    for (const jwk of Array.isArray(set?.keys) ? set.keys : []) {
      if (typeof jwk?.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
      } catch {
        // A key this Node.js cannot read verifies nothing.
      }
    }
    keys = next;
    checked = new Map();
    fetchedAt = Date.now();
  }

  /** The cached key set, fetched again when `kid` is unknown (at most once a second) or the set is old. */
  async function keyFor(kid) {
    const now = Date.now();
    const stale = now - fetchedAt > MAX_KEYS_AGE_MS;
    if ((!keys.has(kid) && now - fetchedAt > REFETCH_COOLDOWN_MS) || stale) {
      fetching ??= fetchKeys().finally(() => (fetching = undefined));
      try {
        await fetching;
      } catch (err) {
        onError(err);
        // Keys that could not be fetched: none is trusted past their age.
        if (stale) return { unavailable: true };
      }
    }
    return { key: keys.get(kid) };
  }

  /**
   * The claims of a token keyport signed for this audience that has not
   * expired, or why not: `{claims}`, `{invalid: true}` or `{unavailable: true}`
   * (keyport's keys could not be fetched).
   */
  async function check(token) {
    // A token seen before: its signature, issuer and audience were checked then; only time moves.
    const seen = checked.get(token);
    if (seen) {
      const now = Date.now() / 1000;
      if (seen.until > now && seen.from <= now) return seen.answer;
      checked.delete(token);
      return { invalid: true };
    }
    let claims;
    {
      if (!COMPACT_JWS.test(token)) return { invalid: true };
      const [head, body, signature] = token.split('.');
      const header = decodeJson(head);
      const alg = header && Object.hasOwn(ALGORITHMS, header.alg) ? header.alg : undefined;
      const typ = typeof header?.typ === 'string' ? header.typ.toLowerCase() : '';
      if (!alg || typeof header.kid !== 'string' || (typ !== 'at+jwt' && typ !== 'application/at+jwt'))
        return { invalid: true };
      const found = await keyFor(header.kid);
      if (found.unavailable) return found;
      if (!found.key) return { invalid: true };
      const good = verifySignature(
        'sha256',
        Buffer.from(`${head}.${body}`),
        ALGORITHMS[alg](found.key),
        Buffer.from(signature, 'base64url'),
      );
      claims = good ? decodeJson(body) : undefined;
      if (!claims) return { invalid: true };
    }
    const now = Date.now() / 1000;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (
      claims.iss !== issuer ||
      !audiences.includes(audience) ||
      typeof claims.exp !== 'number' ||
      claims.exp + clockToleranceSeconds <= now ||
      (typeof claims.nbf === 'number' && claims.nbf - clockToleranceSeconds > now) ||
      typeof claims.client_id !== 'string'
    ) {
      return { invalid: true };
    }
    const answer = Object.freeze({ claims, scopes: String(claims.scope ?? '').split(' ') });
    if (checked.size >= MAX_CHECKED) checked.delete(checked.keys().next().value);
    checked.set(token, {
      answer,
      until: claims.exp + clockToleranceSeconds,
      from: typeof claims.nbf === 'number' ? claims.nbf - clockToleranceSeconds : -Infinity,
    });
    return answer;
  }

  return { check };
}
