import type { AllowedIps } from './allowed-ips.js';
import type { KeyMeta } from './meta.js';
import type { PublicKey } from './public-keys.js';

export type ClientKind = 'service_account' | 'service_account_jwt' | 'app' | 'resource_server';
export const CLIENT_KINDS: readonly ClientKind[] = ['service_account', 'service_account_jwt', 'app', 'resource_server'];

export function isClientKind(value: unknown): value is ClientKind {
  return CLIENT_KINDS.includes(value as ClientKind);
}

export type Environment = 'prod' | 'dev';
export const ENVIRONMENTS: readonly Environment[] = ['prod', 'dev'];

/** A row of `o_auth_clients`, as the domain sees it. */
export interface ClientRecord {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly name: string | null;
  readonly teamId: number | null;
  /** The service-account user the client acts as (service accounts only). */
  readonly userId: number | null;
  readonly secretHash: string | null;
  readonly publicKeyPem: string | null;
  /** Every public key of a JWT service account, the one in `publicKeyPem` first. */
  readonly publicKeys: readonly PublicKey[];
  readonly redirectUris: readonly string[];
  readonly environment: Environment;
  /** null: the row was inserted by hand without scopes; the configured defaults apply. */
  readonly scopes: readonly string[] | null;
  readonly secretHint: string | null;
  readonly createdAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
  readonly usageCount: number;
  /** After a rotation with a grace period: the old secret's hash, valid until the time beside it. */
  readonly previousSecretHash: string | null;
  readonly previousSecretExpiresAt: number | null;
  /** SHA-256 of the secret, by which it is found when used as an API key (service accounts only). */
  readonly keyDigest: string | null;
  /** The previous secret's, during a rotation's grace period. */
  readonly previousKeyDigest: string | null;
  /** Usage credits (null: unlimited): what is left, and the refill. */
  readonly credits: Credits | null;
  /** The customer's own metadata (clients/meta.ts), null when none. */
  readonly meta: KeyMeta | null;
  /** When a secret scanner reported the current secret as public (issue 28 item 4); null or absent: never. */
  readonly leakedAt?: number | null;
  // Permissions and roles (issue 28 item 2):
  /** The key's own permissions (`resource:action`, clients/permissions.ts), sorted; none: []. */
  readonly permissions: readonly string[];
  /** The ids of the roles the key holds: the product's (config) and its team's own (numbered). */
  readonly roles: readonly string[];
  /** Where the key may be used from (clients/allowed-ips.ts); empty: anywhere. */
  readonly allowedIps: AllowedIps;
  /** A resource server's access-token format: 'jwt' (RFC 9068), or null for opaque tokens. */
  readonly accessTokenFormat: 'jwt' | null;
  /** The plan of the owning team, read with the row (undefined: no team). */
  readonly teamPlan: string | undefined;
  /** The owning team is suspended by the product's sync (issue 26 item 3): no API access meanwhile. */
  readonly teamSuspended?: boolean;
  /** When `credits.low` was announced since the credits were last set or refilled (null: not yet). */
  readonly creditsLowAt?: number | null;
}

export interface Credits {
  readonly remaining: number;
  readonly refill: { readonly interval: 'day' | 'month'; readonly amount: number } | null;
}

/**
 * Whether a client may use the API at all: resource servers always (they
 * belong to no plan); everyone else only while the team's plan includes it.
 */
export function hasApiAccess(
  client: Pick<ClientRecord, 'kind' | 'teamPlan' | 'teamSuspended'>,
  plans: Readonly<Record<string, { api_access: boolean }>>,
): boolean {
  if (client.kind === 'resource_server') return true;
  if (client.teamSuspended) return false;
  // `plans` has no prototype (config.ts): a plan named "toString" is not found by accident.
  return client.teamPlan !== undefined && plans[client.teamPlan]?.api_access === true;
}

/** Valid: not revoked and not past its expiry. Only valid clients authenticate. */
export function isValid(client: ClientRecord, now: number): boolean {
  return client.revokedAt === null && (client.expiresAt === null || client.expiresAt > now);
}

/** The JSON shape of docs/contract.md, for CLI output and the admin API. Never holds a secret. */
export interface ClientView {
  readonly client_id: string;
  readonly name: string | null;
  readonly kind: ClientKind;
  readonly team_id: number | null;
  readonly user_id: number | null;
  readonly environment: Environment;
  readonly scopes: readonly string[];
  readonly redirect_uris?: readonly string[];
  readonly created_at: string | null;
  readonly expires_at: string | null;
  readonly last_used_at: string | null;
  readonly usage_count: number;
  readonly is_valid: boolean;
  readonly secret_hint: string | null;
  readonly credits: Credits | null;
  readonly meta: KeyMeta | null;
  /** Only when a secret scanner reported the current secret as public: revoked, or (a team that flags) still working. */
  readonly leaked_at?: string;
  /** The key's own permissions and its roles' ids (issue 28 item 2). */
  readonly permissions: readonly string[];
  readonly roles: readonly string[];
  readonly allowed_ips: AllowedIps;
  /** A JWT service account's key ids (RFC 7517 `kid`), the primary key first. */
  readonly public_key_kids?: readonly string[];
}

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export function toClientView(client: ClientRecord, defaultScopes: readonly string[], now: number): ClientView {
  return {
    client_id: client.clientId,
    name: client.name,
    kind: client.kind,
    team_id: client.teamId,
    user_id: client.userId,
    environment: client.environment,
    scopes: client.scopes ?? defaultScopes,
    ...(client.kind === 'app' ? { redirect_uris: client.redirectUris } : {}),
    created_at: iso(client.createdAt),
    expires_at: iso(client.expiresAt),
    last_used_at: iso(client.lastUsedAt),
    usage_count: client.usageCount,
    is_valid: isValid(client, now),
    secret_hint: client.secretHint,
    ...(client.publicKeys.length ? { public_key_kids: client.publicKeys.map((k) => k.kid) } : {}),
    credits: client.credits,
    meta: client.meta,
    ...(client.leakedAt ? { leaked_at: iso(client.leakedAt)! } : {}),
    permissions: client.permissions,
    roles: client.roles,
    allowed_ips: client.allowedIps,
  };
}
