import type { ExpiredShare, ShareOptions } from '../shares/share-links.js';
import type { ClientRecord, ClientView, Credits } from './client.js';
import type { KeyMeta } from './meta.js';

/** A client as created: the view, plus the secret this one time (none for private_key_jwt). */
export interface CreatedClient {
  readonly client: ClientView;
  readonly clientSecret?: string;
}

export interface NewServiceAccount {
  readonly teamId: number;
  readonly name?: string;
  readonly environment?: string;
  readonly expiresInDays?: number;
  readonly scopes?: readonly string[];
  readonly publicKeyPem?: string;
  /** The key's id as the customer named it (a JWK's `kid`); default: its RFC 7638 thumbprint. */
  readonly publicKeyKid?: string;
  /** Email of the team admin who asked for the key (CLI `-requested-by`). */
  readonly requestedBy?: string;
  /** A secret the customer chose instead of a generated one (admin API). */
  readonly clientSecret?: string;
  /** Usage credits spent by direct API calls (null or absent: unlimited). */
  readonly credits?: Credits | null;
  /** The customer's own metadata, checked by clients/meta.ts (null or absent: none). */
  readonly meta?: KeyMeta | null;
  /** Issue 28 item 2: the key's own permissions (`resource:action`) and its roles' ids. */
  readonly permissions?: readonly string[];
  readonly roles?: readonly string[];
  /** Addresses and CIDR ranges it may be used from, checked by clients/allowed-ips.ts (empty or absent: anywhere). */
  readonly allowedIps?: readonly string[];
}

export interface NewApp {
  readonly teamId: number;
  readonly name: string;
  readonly redirectUris?: readonly string[];
  readonly scopes?: readonly string[];
  readonly meta?: KeyMeta | null;
  readonly permissions?: readonly string[];
  readonly roles?: readonly string[];
  readonly allowedIps?: readonly string[];
}

export interface ClientService {
  createServiceAccount(input: NewServiceAccount): Promise<CreatedClient>;
  createApp(input: NewApp): Promise<CreatedClient>;
  /** A resource server; `accessTokenFormat: 'jwt'` gives it JWT access tokens for its own resource indicator. */
  createResourceServer(input: { name: string; accessTokenFormat?: 'jwt' | null }): Promise<CreatedClient>;
  /** Turns a secret-based client into a private_key_jwt one; the secret stops working at once. */
  setPublicKey(clientId: string, pem: string): Promise<ClientView>;
  /** Another public key for a JWT service account (at most MAX_PUBLIC_KEYS); returns its kid. */
  addPublicKey(clientId: string, pem: string, kid?: string): Promise<string>;
  /** Removes one public key by kid; never the last one. */
  removePublicKey(clientId: string, kid: string): Promise<void>;
  /** Revokes: the client gets no tokens, and its tokens introspect as inactive. */
  revoke(clientId: string): Promise<ClientView>;
  /**
   * Revokes a key whose current one-time link expired unopened, settling the
   * link and publishing `client.share-expired` in the same transaction; false,
   * changing nothing, when the link was settled already (a rotation superseded
   * it, or another process's sweep won it); false, with the link settled and
   * told as expired, when the key was revoked already.
   */
  revokeUndelivered(link: ExpiredShare): Promise<boolean>;
  get(clientId: string): Promise<ClientRecord>;
  /**
   * Hands a new secret over: with `share`, as a one-time link (`share_url`)
   * instead of the secret itself (docs/contract.md, one-time links).
   */
  handOver(
    created: CreatedClient,
    share: ShareOptions | undefined,
  ): Promise<ClientView & { client_secret?: string; share_url?: string }>;
  view(client: ClientRecord): ClientView;
  list(teamId: number, page: { limit: number; offset: number }): Promise<ClientPage>;
  update(
    clientId: string,
    changes: {
      name?: string;
      scopes?: readonly string[];
      isValid?: false;
      credits?: Credits | null;
      meta?: KeyMeta | null;
      permissions?: readonly string[];
      roles?: readonly string[];
      allowedIps?: readonly string[] | null;
    },
  ): Promise<ClientView>;
  /**
   * A new secret for the same client_id. The old one keeps working for
   * `gracePeriodSeconds` (default 0) so an integration can switch without
   * downtime. Revives a revoked client.
   */
  regenerateSecret(
    clientId: string,
    input: { clientSecret?: string; gracePeriodSeconds?: number },
  ): Promise<CreatedClient>;
}

export interface ClientPage {
  readonly total_count: number;
  readonly data: readonly ClientView[];
  /** True when more rows follow the ones returned. */
  readonly exceeds_total_count: boolean;
}
