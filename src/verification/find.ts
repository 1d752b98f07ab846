import type { ClientRecord } from '../clients/client.js';
import { currentScope } from '../clients/scopes.js';
import { hasValidChecksum, keyDigest, looksLikeCurrentKey } from '../clients/secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { Config } from '../config.js';
import type { FoundKey, VerifyOutcome } from './outcome.js';

/*
 * The first steps of the pipeline: from the string a caller presented to the
 * key it names. An API key is found by the digest of the whole key (no
 * bcrypt); an OAuth access token, where one is accepted, by its own find
 * step; either way the checks that follow are the same.
 */

type NotFound = Extract<VerifyOutcome, { kind: 'not_found' }>;

/** An OAuth access token the key may be instead: its client and scope, when it is valid. */
export type FindAccessToken = (
  value: string,
) => Promise<{ clientId: string; scope?: string; forApis: boolean; expiresAt?: number } | undefined>;

export interface FindDeps {
  readonly config: Pick<Config, 'defaultScopes'>;
  readonly clients: ClientStore;
  /** The store's findByKeyDigest, batched: concurrent verifications share one query. */
  readonly byDigest: (digest: string) => Promise<ClientRecord | undefined>;
  /** What a key may do now: its permissions and its roles' (clients/roles.ts); none given: its own only. */
  readonly permissionsOf?: (client: ClientRecord) => readonly string[] | Promise<readonly string[]>;
}

const permissionsOf = (deps: FindDeps, client: ClientRecord) =>
  deps.permissionsOf ? deps.permissionsOf(client) : client.permissions;

const BAD_CHECKSUM: NotFound = Object.freeze({ kind: 'not_found', reason: 'bad_checksum' });
const UNKNOWN: NotFound = Object.freeze({ kind: 'not_found', reason: 'unknown' });
const NOT_AN_API_KEY: NotFound = Object.freeze({ kind: 'not_found', reason: 'not_an_api_key' });
const TOKEN_CLIENT_GONE: NotFound = Object.freeze({ kind: 'not_found', reason: 'token_client_gone' });
const NOT_FOR_APIS: NotFound = Object.freeze({ kind: 'not_found', reason: 'token_not_for_apis' });

/** Parse and checksum: a key of the current format whose checksum fails is a typo or made up, refused with no query. */
export function checkChecksum(key: string): NotFound | undefined {
  return looksLikeCurrentKey(key) && !hasValidChecksum(key) ? BAD_CHECKSUM : undefined;
}

/** Find an API key: a service account's secret, by its digest. `undefined` when no key has this digest. */
export async function findApiKey(deps: FindDeps, key: string): Promise<FoundKey | NotFound | undefined> {
  const digest = keyDigest(key);
  const client = await deps.byDigest(digest);
  if (!client) return undefined;
  // An app's or a resource server's secret is no API key, and is no access token either.
  if (client.kind !== 'service_account') return NOT_AN_API_KEY;
  // The previous secret, during a rotation's grace period, works until the grace ends.
  const graceEnds = client.keyDigest !== digest ? client.previousSecretExpiresAt : null;
  const ends = [client.expiresAt, graceEnds].filter((s): s is number => s !== null).map((s) => s * 1000);
  return {
    kind: 'found',
    client,
    scopes: client.scopes ?? deps.config.defaultScopes,
    permissions: await permissionsOf(deps, client),
    isKey: true,
    validUntilMs: ends.length ? Math.min(...ends) : null,
  };
}

/** Find an access token: its client, with the part of the token's scope that client still holds. */
export async function findAccessToken(
  deps: FindDeps,
  find: FindAccessToken,
  value: string,
): Promise<FoundKey | NotFound> {
  const token = await find(value);
  if (!token) return UNKNOWN;
  // A token approved for sign-in only (OpenID Connect scopes, for userinfo) lets no one into an API as the team.
  if (!token.forApis) return NOT_FOR_APIS;
  const owner = await deps.clients.findById(token.clientId);
  if (!owner) return TOKEN_CLIENT_GONE;
  const held = (owner.scopes ?? deps.config.defaultScopes).join(' ');
  return {
    kind: 'found',
    client: owner,
    scopes: currentScope(token.scope, held).split(' ').filter(Boolean),
    permissions: await permissionsOf(deps, owner),
    isKey: false,
    // The token's own expiry or its client's, whichever comes first: a lease never outlives either.
    validUntilMs: earliestMs(owner.expiresAt, token.expiresAt),
  };
}

/** The earlier of two epoch-second moments, in ms; null when neither is set. */
function earliestMs(...seconds: ReadonlyArray<number | null | undefined>): number | null {
  const set = seconds.filter((s): s is number => typeof s === 'number');
  return set.length ? Math.min(...set) * 1000 : null;
}

/** `/keys/verify`: an API key, else an access token. */
export async function findKeyOrToken(
  deps: FindDeps,
  find: FindAccessToken,
  value: string,
): Promise<FoundKey | NotFound> {
  return checkChecksum(value) ?? (await findApiKey(deps, value)) ?? findAccessToken(deps, find, value);
}

/** RFC 7662 introspection: API keys only (oidc-provider already looked for a token). */
export async function findKeyOnly(deps: FindDeps, value: string): Promise<FoundKey | NotFound> {
  return checkChecksum(value) ?? (await findApiKey(deps, value)) ?? UNKNOWN;
}
