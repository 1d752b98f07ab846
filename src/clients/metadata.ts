/** keyport's own client metadata, carried on oidc-provider's Client (extraClientMetadata). */
export const KEYPORT_CLIENT_METADATA = [
  'team_id',
  'user_id',
  'environment',
  'kind',
  'api_access',
  'team_suspended',
  'plan',
  'previous_secret_hash',
  'has_key_digest',
  'key_digest',
  'allowed_ips',
] as const;

export interface KeyportClientMetadata {
  readonly team_id: number | null;
  readonly user_id: number | null;
  readonly environment: 'prod' | 'dev';
  readonly kind: string;
  readonly api_access: boolean;
  /** The team is suspended by the product's sync (then `api_access` is false too). */
  readonly team_suspended?: boolean;
  /** The team's plan, for its rate limits (absent for resource servers). */
  readonly plan?: string;
  /** The secret replaced by a rotation, while its grace period lasts. */
  readonly previous_secret_hash?: string;
  /** Whether the secret can be found by its digest (a key made before digests gains one at its next use). */
  readonly has_key_digest: boolean;
  /** The current secret's digest, while it is bound to the stored hash (generated keys only). */
  readonly key_digest?: string;
  /** Where the key may be used from (clients/allowed-ips.ts); absent: anywhere. */
  readonly allowed_ips?: readonly string[];
}

const metadataOf = new WeakMap<object, KeyportClientMetadata>();

/**
 * keyport's metadata of an oidc-provider Client. `metadata()` builds a new
 * object of every property on each call, and a token request asks several
 * times; a Client never changes once built (a changed row builds a new one),
 * so its answer is kept with it.
 */
export function keyportMetadata(client: { metadata(): object }): KeyportClientMetadata {
  let meta = metadataOf.get(client);
  if (!meta) metadataOf.set(client, (meta = Object.freeze(client.metadata()) as unknown as KeyportClientMetadata));
  return meta;
}
