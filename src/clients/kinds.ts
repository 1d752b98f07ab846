import { assertNever } from '../errors.js';
import { isClientKind, type ClientKind, type ClientRecord } from './client.js';
import { jwkFor } from './public-keys.js';

export const OOB_REDIRECT_URI = 'urn:ietf:wg:oauth:2.0:oob';

/** OpenID Connect scopes every app may ask for, besides its API scopes. */
export const APP_OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/**
 * The kind of a row. Rows written by keyport carry it; rows inserted by hand
 * the runbook's way may not, so it is read from the credentials they hold: a
 * public key means private_key_jwt (docs/contract.md, Storage), a redirect URI an app.
 */
export function kindOfRow(row: {
  kind: string | null;
  client_r_s_a_public_key: string | null;
  redirect_uri: string | null;
}): ClientKind {
  const hasKey = Boolean(row.client_r_s_a_public_key?.trim());
  if (row.kind === 'service_account' || row.kind === 'service_account_jwt' || row.kind === null) {
    if (hasKey) return 'service_account_jwt';
    if (row.kind === null && row.redirect_uri?.trim()) return 'app';
    return 'service_account';
  }
  return isClientKind(row.kind) ? row.kind : 'service_account';
}

/** What oidc-provider needs to know of a client beyond its id (RFC 7591 names). */
export interface OidcClientMetadata {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly token_endpoint_auth_method: 'client_secret_basic' | 'private_key_jwt';
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly redirect_uris?: readonly string[];
  readonly application_type?: 'web' | 'native';
  readonly jwks?: { readonly keys: readonly object[] };
  readonly scope?: string;
  readonly [extra: string]: unknown;
}

/**
 * Maps a client to oidc-provider metadata. The stored bcrypt hash stands in
 * for `client_secret`: oidc-provider only compares it through
 * `compareClientSecret`, which keyport replaces with a bcrypt check, and every
 * algorithm that would use it as a key (HS*, encryption) is disabled.
 * Returns undefined for a row that holds no usable credential.
 */
export function oidcMetadataFor(client: ClientRecord, scopes: readonly string[]): OidcClientMetadata | undefined {
  const credentials = credentialMetadata(client);
  if (!credentials) return undefined;
  // oidc-provider refuses an empty scope string: a client with no scopes has none set.
  const base = {
    client_id: client.clientId,
    ...(client.name ? { client_name: client.name } : {}),
    ...(scopes.length ? { scope: scopes.join(' ') } : {}),
    ...credentials,
  };

  switch (client.kind) {
    case 'service_account':
    case 'service_account_jwt':
      return { ...base, grant_types: ['client_credentials'], response_types: [] };
    case 'app': {
      // oidc-provider accepts the oob URN only for native applications (9.8.1+).
      const native = client.redirectUris.some((uri) => uri === OOB_REDIRECT_URI || isLoopback(uri));
      return {
        ...base,
        // Apps may also sign people in (OpenID Connect) and ask to stay connected.
        scope: [...scopes, ...APP_OIDC_SCOPES].join(' '),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: client.redirectUris,
        application_type: native ? 'native' : 'web',
      };
    }
    case 'resource_server':
      // Introspects and revokes; obtains no tokens of its own.
      return { ...base, grant_types: [], response_types: [] };
    default:
      return assertNever(client.kind);
  }
}

function credentialMetadata(client: ClientRecord) {
  if (client.publicKeyPem) {
    const keys = client.publicKeys.map(jwkFor).filter((jwk): jwk is object => jwk !== undefined);
    return keys.length ? { token_endpoint_auth_method: 'private_key_jwt' as const, jwks: { keys } } : undefined;
  }
  if (client.secretHash) {
    return { token_endpoint_auth_method: 'client_secret_basic' as const, client_secret: client.secretHash };
  }
  return undefined;
}

/** RFC 8252 §7.3: an http redirect to a loopback address, whose port the app chooses at request time. */
export function isLoopback(uri: string): boolean {
  try {
    const { protocol, hostname } = new URL(uri);
    return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === '[::1]' || hostname === 'localhost');
  } catch {
    return false;
  }
}
