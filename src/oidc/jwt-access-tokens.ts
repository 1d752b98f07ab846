import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { RevokedTokenStore } from '../clients/revoked-tokens.js';

/*
 * JWT access tokens (RFC 9068) that keyport issued for a resource server that
 * chose them (issue 27 item 2). oidc-provider does not store them, so neither
 * its find nor its revocation knows one: keyport checks one itself, with its
 * own signing keys, and remembers a revoked one by its `jti`.
 */

/** Three base64url parts: what a JWS in compact form looks like. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(value: string): boolean {
  return value.startsWith('eyJ') && COMPACT_JWS.test(value);
}

/** What a JWT access token of keyport's says, once its signature, issuer, type and expiry are checked. */
export interface JwtAccessToken {
  readonly jti: string;
  readonly clientId: string;
  readonly scope: string | undefined;
  readonly aud: string | string[] | undefined;
  readonly sub: string | undefined;
  readonly exp: number;
  /** The grant an app's token came from (a person's approval); gone when the person or approval is. */
  readonly grantId: string | undefined;
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'n', 'e', 'crv', 'x', 'y'] as const;

/** A JWK's public members only. */
function publicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) out[member] = jwk[member];
  return out as JWK;
}

export function createJwtAccessTokens({
  issuer,
  jwks,
  revoked,
  clockToleranceSeconds = 0,
}: {
  issuer: string;
  jwks: { readonly keys: readonly JWK[] };
  revoked: RevokedTokenStore;
  clockToleranceSeconds?: number;
}) {
  const keySet = createLocalJWKSet({ keys: jwks.keys.map(publicJwk) });
  /** The token's claims when keyport signed it and it has not expired; revocation not looked at. */
  async function read(value: string): Promise<JwtAccessToken | undefined> {
    if (!looksLikeJwt(value)) return undefined;
    try {
      const { payload } = await jwtVerify(value, keySet, {
        issuer,
        typ: 'at+jwt',
        algorithms: ['RS256', 'PS256', 'ES256'],
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['jti', 'exp', 'client_id'],
      });
      if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') return undefined;
      return {
        jti: payload.jti,
        clientId: payload.client_id,
        scope: typeof payload.scope === 'string' ? payload.scope : undefined,
        aud: payload.aud,
        sub: payload.sub,
        exp: payload.exp!,
        grantId: typeof payload.grant_id === 'string' ? payload.grant_id : undefined,
      };
    } catch {
      return undefined;
    }
  }
  return {
    read,
    /** The token's claims when it is valid now: signed by keyport, unexpired, not revoked. */
    async find(value: string): Promise<JwtAccessToken | undefined> {
      const token = await read(value);
      if (!token || (await revoked.has(token.jti))) return undefined;
      return token;
    },
  };
}

export type JwtAccessTokens = ReturnType<typeof createJwtAccessTokens>;
