import { createCipheriv, randomBytes } from 'node:crypto';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import { InvalidRequest } from '../errors.js';
import type { Tx, UnitOfWork } from '../unit-of-work.js';
import type { ClientEvent, DomainEvents } from '../events/domain-events.js';
import type { ShareLinkRecord, ShareLinkStore } from './share-link-store.js';

/** docs/contract.md: a link lives 24 hours unless asked otherwise, at most 7 days. */
export const DEFAULT_SHARE_TTL_SECONDS = 86_400;
export const MAX_SHARE_TTL_SECONDS = 7 * 86_400;
const MIN_SHARE_TTL_SECONDS = 60;

/** `superseded`: a new secret (or a public key) replaced the one the link held before it was opened. */
export type ShareState = 'pending' | 'opened' | 'expired' | 'superseded';

export interface ShareOptions {
  readonly ttlSeconds?: number;
  /** Revoke the key if its link expires unopened: nobody holds an undelivered key. */
  readonly revokeIfUnopened?: boolean;
}

export interface ShareView {
  readonly state: ShareState;
  readonly expires_at: string;
  readonly opened_at: string | null;
  readonly revoke_if_unopened: boolean;
}

/** A link whose expiry passed and that no sweep settled yet. */
export interface ExpiredShare {
  readonly id: string;
  readonly clientId: string;
  readonly teamId: number | null;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** Never opened: its secret was never handed over (`share_link.expired` is told of these only). */
  readonly unopened: boolean;
  /** Unopened, and the key is to be revoked for it. */
  readonly revokeIfUnopened: boolean;
}

export interface ShareLinks {
  /** Encrypts `secret` under a fresh key that only the returned URL's fragment holds. */
  create(
    input: { clientId: string; teamId: number | null; secret: string } & ShareOptions,
  ): Promise<{ url: string; view: ShareView }>;
  /** Whether the link can still be revealed (a GET of its page never burns it). */
  isPending(id: string): Promise<boolean>;
  /** The client whose secret a pending link holds; undefined for a used, expired or unknown link. */
  pendingClientId(id: string): Promise<string | undefined>;
  /** Takes the ciphertext once, atomically: later or concurrent calls get undefined. */
  reveal(
    id: string,
    address: string,
  ): Promise<{ ciphertext: string; clientId: string; teamId: number | null } | undefined>;
  /** The newest link of each client, for lists (CLI clientlist, admin API). */
  latest(clientIds: readonly string[]): Promise<Map<string, ShareView>>;
  /** Links that expired and are not settled yet: the sweep revokes keys where asked. */
  expiredUnsettled(now: number): Promise<ExpiredShare[]>;
  /** False when the link was settled already: superseded by a rotation, or by another process's sweep. */
  settle(id: string, now: number, tx?: Tx): Promise<boolean>;
  /**
   * Settles an expired link that revokes nothing; an unopened one publishes `client.share-expired`
   * in the settle's transaction, so only the sweep that wins the conditional update tells it.
   */
  settleExpired(link: ExpiredShare, now: number): Promise<boolean>;
  /** A new secret replaced the one the client's open links hold: they reveal nothing and revoke nothing. */
  supersede(clientId: string, tx: Tx): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{22}$/;
const iso = (s: number) => new Date(s * 1000).toISOString();
/** How many expired links one sweep settles. */
const SETTLE_BATCH = 500;

/** The event an unopened link's expiry is told as; `keyRevoked` when its key was revoked for it. */
export const shareExpired = (link: ExpiredShare, keyRevoked: boolean): ClientEvent => ({
  type: 'client.share-expired',
  clientId: link.clientId,
  teamId: link.teamId,
  linkId: link.id,
  expiresAt: link.expiresAt,
  keyRevoked,
});

function stateOf(link: Omit<ShareLinkRecord, 'ciphertext'>, now: number): ShareState {
  if (link.openedAt !== null) return 'opened';
  if (link.supersededAt !== null) return 'superseded';
  return link.expiresAt <= now ? 'expired' : 'pending';
}

function viewOf(link: Omit<ShareLinkRecord, 'ciphertext'>, now: number): ShareView {
  return {
    state: stateOf(link, now),
    expires_at: iso(link.expiresAt),
    opened_at: link.openedAt === null ? null : iso(link.openedAt),
    revoke_if_unopened: link.revokeIfUnopened,
  };
}

export function checkShareTtl(ttlSeconds: number | undefined): number {
  const ttl = ttlSeconds ?? DEFAULT_SHARE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_SHARE_TTL_SECONDS || ttl > MAX_SHARE_TTL_SECONDS) {
    throw new InvalidRequest(
      'share.ttl_seconds',
      `must be a whole number of seconds from ${MIN_SHARE_TTL_SECONDS} to ${MAX_SHARE_TTL_SECONDS} (7 days)`,
    );
  }
  return ttl;
}

/**
 * One-time secret links, zero knowledge: the secret is encrypted with
 * AES-256-GCM under a random key that goes only into the URL's fragment
 * (`/s/<id>#<key>`), which browsers never send to a server. keyport keeps the
 * ciphertext and the expiry, nothing that decrypts them, and hands the
 * ciphertext out once.
 */
export function createShareLinks({
  store,
  issuer,
  clock = systemClock,
  events,
}: {
  store: ShareLinkStore;
  issuer: string;
  clock?: Clock;
  /**
   * Where an opening (`client.share-opened`, in the claim's transaction) and an expiry
   * (`client.share-expired`, in the settle's) are published: the webhook outbox.
   */
  events?: { unitOfWork: UnitOfWork; events: DomainEvents };
}): ShareLinks {
  const now = () => secondsOf(clock);
  const pendingClientId = async (id: string): Promise<string | undefined> => {
    if (!ID.test(id)) return undefined;
    const link = await store.find(id);
    const pending = link && link.openedAt === null && link.ciphertext !== null && link.expiresAt > now();
    return pending ? link.clientId : undefined;
  };

  return {
    async create({ clientId, teamId, secret, ttlSeconds, revokeIfUnopened = false }) {
      const ttl = checkShareTtl(ttlSeconds);
      const key = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      const id = randomBytes(16).toString('base64url');
      const createdAt = now();
      const link = {
        id,
        clientId,
        teamId,
        ciphertext: sealed.toString('base64url'),
        createdAt,
        expiresAt: createdAt + ttl,
        revokeIfUnopened,
      };
      await store.insert(link);
      return {
        url: `${issuer}/s/${id}#${key.toString('base64url')}`,
        view: viewOf({ ...link, openedAt: null, supersededAt: null }, createdAt),
      };
    },

    async isPending(id) {
      return (await pendingClientId(id)) !== undefined;
    },

    pendingClientId,

    async reveal(id, address) {
      if (!ID.test(id)) return undefined;
      const link = events
        ? await events.unitOfWork.run(async (tx) => {
            const claimed = await store.claim(id, now(), address, tx);
            if (claimed?.ciphertext)
              await events.events.publish(
                { type: 'client.share-opened', clientId: claimed.clientId, teamId: claimed.teamId },
                tx,
              );
            return claimed;
          })
        : await store.claim(id, now(), address);
      if (!link?.ciphertext) return undefined;
      return { ciphertext: link.ciphertext, clientId: link.clientId, teamId: link.teamId };
    },

    async latest(clientIds) {
      const links = await store.latest(clientIds);
      const at = now();
      return new Map([...links].map(([clientId, link]) => [clientId, viewOf(link, at)]));
    },

    async expiredUnsettled(at) {
      const links = await store.expiredUnsettled(at, SETTLE_BATCH);
      return links.map((link) => ({
        id: link.id,
        clientId: link.clientId,
        teamId: link.teamId,
        expiresAt: link.expiresAt,
        unopened: link.openedAt === null,
        revokeIfUnopened: link.revokeIfUnopened && link.openedAt === null,
      }));
    },

    // Nothing that could decrypt was ever here; the ciphertext goes too.
    settle: (id, at, tx) => store.settle(id, at, tx),

    async settleExpired(link, at) {
      if (!events || !link.unopened) return store.settle(link.id, at);
      return events.unitOfWork.run(async (tx) => {
        if (!(await store.settle(link.id, at, tx))) return false;
        await events.events.publish(shareExpired(link, false), tx);
        return true;
      });
    },

    supersede: (clientId, tx) => store.supersede(clientId, now(), tx),
  };
}
