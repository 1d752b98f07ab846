import type { Tx } from '../unit-of-work.js';

/**
 * What can happen to a client (issue 22: changes are domain events). Closed:
 * a subscriber that switches on `type` is told by the compiler when one is added.
 */
export type ClientEvent =
  | { readonly type: 'client.created'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.renamed'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.rotated'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.revived'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.scopes-changed'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.credits-changed'; readonly clientId: string; readonly teamId: number | null }
  /** The key's metadata changed; the event never holds the metadata itself. */
  | { readonly type: 'client.meta-changed'; readonly clientId: string; readonly teamId: number | null }
  /** What the key may do changed: its own permissions, its roles, or a role it holds (issue 28 item 2). */
  | { readonly type: 'client.permissions-changed'; readonly clientId: string; readonly teamId: number | null }
  /** The key's address allowlist changed (guards drop their leases of it). */
  | { readonly type: 'client.allowed-ips-changed'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.revoked'; readonly clientId: string; readonly teamId: number | null }
  | { readonly type: 'client.key-set'; readonly clientId: string; readonly teamId: number | null }
  /**
   * A secret scanner reported the key's secret as public (issue 28 item 4): `revoked` when the
   * team's setting revoked it (a `client.revoked` comes with it), `flagged` when it only told.
   * `url` and `source` say where it was found (public already); never the secret itself.
   */
  | {
      readonly type: 'client.leaked';
      readonly clientId: string;
      readonly teamId: number | null;
      readonly scanner: 'github' | 'operator';
      readonly action: 'revoked' | 'flagged';
      readonly url: string | null;
      readonly source: string | null;
    }
  /** The key's one-time link was opened (its secret handed over); the key itself is unchanged. */
  | { readonly type: 'client.share-opened'; readonly clientId: string; readonly teamId: number | null }
  /**
   * The key's one-time link expired unopened and was settled (its ciphertext dropped), by the one
   * sweep that won it; `keyRevoked` when the link asked for that (`revoke_if_unopened`) and it was done.
   */
  | {
      readonly type: 'client.share-expired';
      readonly clientId: string;
      readonly teamId: number | null;
      readonly linkId: string;
      /** Seconds since the epoch, as stored. */
      readonly expiresAt: number;
      readonly keyRevoked: boolean;
    }
  | {
      readonly type: 'client.key-added';
      readonly clientId: string;
      readonly teamId: number | null;
      readonly kid: string;
    }
  | {
      readonly type: 'client.key-removed';
      readonly clientId: string;
      readonly teamId: number | null;
      readonly kid: string;
    };

/**
 * What the operator can change about a team and its people (issue 24 item 8).
 * Never a password, not even its hash.
 */
export type TeamEvent =
  | { readonly type: 'team.plan-changed'; readonly teamId: number; readonly plan: string; readonly previous: string }
  | {
      readonly type: 'member.role-changed';
      readonly teamId: number;
      readonly userId: number;
      readonly email: string | null;
      readonly role: string;
      readonly previous: string;
    }
  | {
      readonly type: 'member.password-reset';
      readonly teamId: number;
      readonly userId: number;
      readonly email: string | null;
    }
  | {
      readonly type: 'member.removed';
      readonly teamId: number;
      readonly userId: number;
      readonly email: string | null;
    };

/** What the product's sync changed (issue 26 item 3): only real changes, never a repeat. */
export type SyncEvent =
  | {
      readonly type: 'team.synced';
      readonly teamId: number;
      readonly externalId: string;
      readonly name: string;
      readonly plan: string;
      readonly created: boolean;
      readonly resumed: boolean;
    }
  | { readonly type: 'team.suspended'; readonly teamId: number; readonly externalId: string }
  | {
      readonly type: 'member.synced';
      readonly teamId: number;
      readonly userId: number;
      readonly externalId: string;
      readonly email: string;
      readonly role: string;
      readonly created: boolean;
    };

export type DomainEvent = ClientEvent | TeamEvent | SyncEvent;

export const isClientEvent = (event: DomainEvent): event is ClientEvent => event.type.startsWith('client.');

/** Writes its own rows for an event, inside the transaction that made the change. */
export type ClientEventSubscriber = (event: DomainEvent, tx: Tx) => Promise<void>;

export interface DomainEvents {
  /**
   * Passes `event` to every subscriber, one after the other, in `tx`: their
   * rows commit with the change or roll back with it, never one without the other.
   */
  publish(event: DomainEvent, tx: Tx): Promise<void>;
}

/** The publisher, with its subscribers fixed at composition. */
export function createDomainEvents(subscribers: readonly ClientEventSubscriber[]): DomainEvents {
  return {
    async publish(event, tx) {
      for (const subscriber of subscribers) await subscriber(event, tx);
    },
  };
}
