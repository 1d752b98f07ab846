import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlShareLinkStore } from '../../src/persistence/sql/share-link-store.js';
import { createShareLinks, DEFAULT_SHARE_TTL_SECONDS, type ShareLinks } from '../../src/shares/share-links.js';
import { storeTargets, type OpenStore } from './targets.js';

const ISSUER = 'https://keyport.test';
const TARGETS = storeTargets<ShareLinks>('share links', {
  sql: (db) => createShareLinks({ store: createSqlShareLinkStore(db), issuer: ISSUER }),
});
const idOf = (url: string) => new URL(url).pathname.replace('/s/', '');

describe.each(TARGETS)('share links contract on $name', (target) => {
  let open: OpenStore<ShareLinks>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('a link created is pending, with the decryption key only in the fragment, and the ciphertext is not the secret', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { url, view } = await open.store.create({ clientId: 'sl-create', teamId: null, secret: 'the-secret' });
    const parsed = new URL(url);
    expect(parsed.origin).toBe(ISSUER);
    expect(parsed.hash.length).toBeGreaterThan(40);
    expect(view).toMatchObject({ state: 'pending', opened_at: null, revoke_if_unopened: false });
    expect(Date.parse(view.expires_at) / 1000).toBeGreaterThanOrEqual(before + DEFAULT_SHARE_TTL_SECONDS);
    expect(await open.another().isPending(idOf(url))).toBe(true);
    expect((await open.store.latest(['sl-create'])).get('sl-create')?.state).toBe('pending');
  });

  it('reveals once: the second reveal answers undefined, the link is no longer pending and shows opened', async () => {
    const { url } = await open.store.create({ clientId: 'sl-once', teamId: null, secret: 'once' });
    const id = idOf(url);
    const first = await open.store.reveal(id, '192.0.2.1');
    expect(first).toMatchObject({ clientId: 'sl-once', teamId: null });
    expect(first?.ciphertext).toEqual(expect.any(String));
    expect(first?.ciphertext).not.toContain('once');
    expect(await open.store.reveal(id, '192.0.2.1')).toBeUndefined();
    expect(await open.store.isPending(id)).toBe(false);
    expect((await open.store.latest(['sl-once'])).get('sl-once')).toMatchObject({ state: 'opened' });
  });

  it('of 10 concurrent reveals (from two processes) exactly one gets the ciphertext', async () => {
    const { url } = await open.store.create({ clientId: 'sl-race', teamId: null, secret: 'race' });
    const other = open.another();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : open.store).reveal(idOf(url), '192.0.2.2')),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
  });

  it('unknown or malformed ids are never pending and reveal nothing', async () => {
    expect(await open.store.isPending('A'.repeat(22))).toBe(false);
    expect(await open.store.reveal('A'.repeat(22), '192.0.2.3')).toBeUndefined();
    expect(await open.store.reveal("x' OR 1=1 --", '192.0.2.3')).toBeUndefined();
  });

  it('a link is expired-unsettled once its expiry has passed, revoke asked only when unopened, and settling ends that', async () => {
    const opened = await open.store.create({
      clientId: 'sl-exp-1',
      teamId: 3,
      secret: 's',
      ttlSeconds: 60,
      revokeIfUnopened: true,
    });
    const unopened = await open.store.create({
      clientId: 'sl-exp-2',
      teamId: 3,
      secret: 's',
      ttlSeconds: 60,
      revokeIfUnopened: true,
    });
    await open.store.reveal(idOf(opened.url), '192.0.2.4');
    const expiry = Date.parse(unopened.view.expires_at) / 1000;
    const ours = (now: number) =>
      open.store.expiredUnsettled(now).then((rows) => rows.filter((r) => r.clientId.startsWith('sl-exp-')));
    expect(await ours(expiry - 1)).toEqual([]);
    const due = await ours(expiry + 1);
    expect(due).toEqual(
      expect.arrayContaining([
        { id: idOf(opened.url), clientId: 'sl-exp-1', teamId: 3, revokeIfUnopened: false },
        { id: idOf(unopened.url), clientId: 'sl-exp-2', teamId: 3, revokeIfUnopened: true },
      ]),
    );
    expect(due).toHaveLength(2);
    for (const row of due) await open.store.settle(row.id, expiry + 1);
    expect(await ours(expiry + 2)).toEqual([]);
  });

  it('a time to live outside 60 seconds to 7 days is refused', async () => {
    await expect(
      open.store.create({ clientId: 'sl-ttl', teamId: null, secret: 's', ttlSeconds: 59 }),
    ).rejects.toThrow();
    await expect(
      open.store.create({ clientId: 'sl-ttl', teamId: null, secret: 's', ttlSeconds: 7 * 86_400 + 1 }),
    ).rejects.toThrow();
  });
});
