import type { Tx } from '../unit-of-work.js';
import type { ClientKind, ClientRecord, Credits, Environment } from './client.js';
import type { AllowedIps } from './allowed-ips.js';
import type { KeyMeta } from './meta.js';
import type { PublicKey } from './public-keys.js';

export interface NewClient {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly name: string | null;
  readonly teamId: number | null;
  readonly userId: number | null;
  readonly secretHash: string | null;
  readonly publicKeyPem: string | null;
  /** The kid the customer gave the key (none: its thumbprint is its kid). */
  readonly publicKeyKid?: string | null;
  readonly keyDigest?: string | null;
  readonly credits?: Credits | null;
  readonly meta?: KeyMeta | null;
  /** Issue 28 item 2: the key's own permissions and its roles' ids. */
  readonly permissions?: readonly string[];
  readonly roles?: readonly string[];
  readonly allowedIps?: AllowedIps;
  readonly accessTokenFormat?: 'jwt' | null;
  readonly redirectUris: readonly string[];
  readonly environment: Environment;
  readonly scopes: readonly string[];
  readonly secretHint: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export type ClientChanges = Partial<{
  kind: ClientKind;
  name: string | null;
  scopes: readonly string[];
  secretHash: string | null;
  secretHint: string | null;
  publicKeyPem: string | null;
  /** The keys of a JWT service account, the primary (column) key first. */
  publicKeys: readonly PublicKey[];
  revokedAt: number | null;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  keyDigest: string | null;
  previousKeyDigest: string | null;
  credits: Credits | null;
  meta: KeyMeta | null;
  leakedAt: number | null;
  permissions: readonly string[];
  roles: readonly string[];
  allowedIps: AllowedIps;
}>;

export interface ClientStore {
  findById(clientId: string): Promise<ClientRecord | undefined>;
  /** Several clients in one query; the answer is in the order of `clientIds`. */
  findManyById(clientIds: readonly string[]): Promise<Array<ClientRecord | undefined>>;
  insert(client: NewClient, tx?: Tx): Promise<void>;
  /** False when there is no such client. */
  update(clientId: string, changes: ClientChanges, tx?: Tx): Promise<boolean>;
  /**
   * Revokes the client and, in the same transaction, deletes every token,
   * code, refresh token and grant issued to it: whatever happens to the key
   * later (a new secret, a new public key), nothing issued before comes back.
   */
  revoke(clientId: string, at: number, tx?: Tx): Promise<void>;
  /** The service account whose current (or, in a grace period, previous) secret has this digest. */
  findByKeyDigest(digests: readonly string[]): Promise<Array<ClientRecord | undefined>>;
  /** Records the digest of a secret that just matched the stored hash (keys made before digests existed). */
  setKeyDigestIfMissing(clientId: string, digest: string, secretHash: string): Promise<void>;
  /**
   * Spends `cost` credits, refilling first when a new day or month began;
   * the credits left, or undefined when too few remain (nothing spent).
   */
  spendCredits(clientId: string, cost: number, now: number): Promise<number | undefined>;
  /** Valid (not revoked, not expired) clients of the team, read inside `tx`. */
  countValid(teamId: number, now: number, tx?: Tx): Promise<number>;
  /**
   * Holds the team's key places until `tx` ends: of several units of work
   * that count and then add a key, one at a time gets past this, or (on a
   * multi-primary cluster) all but one lose at commit and run again.
   */
  lockTeamKeys(teamId: number, tx: Tx): Promise<void>;
  /**
   * Makes the team's rows inserted by hand first-class (kind, created time, a
   * service-account user for a service account); the client ids it adopted.
   */
  adoptHandInserted(teamId: number, now: number): Promise<string[]>;
  /** The team's service-account keys, by the user each acts as. */
  serviceAccountKeys(teamId: number): Promise<Map<number, string>>;
  /** Keys whose visible hint (the characters after `keyport_sk_ENV_`) is exactly `hint`: the support console's search. */
  findBySecretHint(hint: string, limit: number): Promise<ClientRecord[]>;
  listByTeam(
    teamId: number,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; clients: ClientRecord[] }>;
}
