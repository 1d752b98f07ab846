import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlShareLinkStore } from '../../src/persistence/sql/share-link-store.js';
import { createShareLinks, DEFAULT_SHARE_TTL_SECONDS, type ShareLinks } from '../../src/shares/share-links.js';
import { storeTargets, type OpenStore } from './targets.js';
import { manualClock } from '../../src/clock.js';
import { createKnexUnitOfWork } from '../../src/persistence/sql/unit-of-work.js';
import type { UnitOfWork } from '../../src/unit-of-work.js';
import type { ShareLinkRecord, ShareLinkStore } from '../../src/shares/share-link-store.js';

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
        {
          id: idOf(opened.url),
          clientId: 'sl-exp-1',
          teamId: 3,
          expiresAt: Date.parse(opened.view.expires_at) / 1000,
          unopened: false,
          revokeIfUnopened: false,
        },
        {
          id: idOf(unopened.url),
          clientId: 'sl-exp-2',
          teamId: 3,
          expiresAt: expiry,
          unopened: true,
          revokeIfUnopened: true,
        },
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

const AT = 1_900_000_000;
const UNIT_TARGETS = storeTargets<{ links: ShareLinkStore; unitOfWork: UnitOfWork }>('share links', {
  sql: (db) => ({ links: createSqlShareLinkStore(db), unitOfWork: createKnexUnitOfWork(db) }),
});

let n = 0;
const aLink = (over: Partial<ShareLinkRecord> = {}): Omit<ShareLinkRecord, 'openedAt' | 'supersededAt'> => ({
  id: `link${String(++n).padStart(18, '0')}`,
  clientId: `client-${n}`,
  teamId: 1,
  ciphertext: `sealed-${n}`,
  createdAt: AT,
  expiresAt: AT + 60,
  revokeIfUnopened: false,
  ...over,
});

describe.each(UNIT_TARGETS)('share aLink store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<{ links: ShareLinkStore; unitOfWork: UnitOfWork }>;
  let links: ShareLinkStore;
  beforeAll(async () => {
    open = await target.open();
    links = open.store.links;
  });
  afterAll(async () => open?.close());

  it('inserts and finds a aLink by its exact id; unknown ids are undefined', async () => {
    const made = aLink({ revokeIfUnopened: true });
    await links.insert(made);
    expect(await links.find(made.id)).toEqual({ ...made, openedAt: null, supersededAt: null });
    expect(await links.find(`${made.id} `)).toBeUndefined();
    expect(await links.find('link-that-is-not-here')).toBeUndefined();
  });

  it('refuses a second aLink with the same id', async () => {
    const made = aLink();
    await links.insert(made);
    await expect(links.insert({ ...made, clientId: 'other' })).rejects.toThrow();
  });

  it('a claim takes the ciphertext once: later and concurrent claims get nothing, an expired aLink none', async () => {
    const made = aLink();
    await links.insert(made);
    const claims = await Promise.all([1, 2, 3].map(() => links.claim(made.id, AT + 1, '192.0.2.1')));
    const won = claims.filter(Boolean);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ ciphertext: made.ciphertext, openedAt: AT + 1 });
    expect(await links.find(made.id)).toMatchObject({ ciphertext: null, openedAt: AT + 1 });
    const late = aLink();
    await links.insert(late);
    expect(await links.claim(late.id, late.expiresAt, '192.0.2.1')).toBeUndefined();
    expect(await links.claim('link-that-is-not-here', AT, '192.0.2.1')).toBeUndefined();
  });

  it('answers the newest aLink of each client asked for', async () => {
    const older = aLink({ clientId: 'latest-client', createdAt: AT });
    const newer = aLink({ clientId: 'latest-client', createdAt: AT + 5 });
    await links.insert(older);
    await links.insert(newer);
    const latest = await links.latest(['latest-client', 'no-links']);
    expect([...latest.keys()]).toEqual(['latest-client']);
    expect(latest.get('latest-client')?.id).toBe(newer.id);
    expect(await links.latest([])).toEqual(new Map());
  });

  it('lists expired unsettled links by the time asked, and settling takes one out with its ciphertext', async () => {
    const manual = manualClock((AT + 1000) * 1000);
    const expired = aLink({ clientId: 'sweep', expiresAt: AT + 500 });
    await links.insert(expired);
    const now = Math.floor(manual.now() / 1000);
    const due = await links.expiredUnsettled(now, 1000);
    expect(due.map((l) => l.id)).toContain(expired.id);
    expect((await links.expiredUnsettled(AT + 499, 1000)).map((l) => l.id)).not.toContain(expired.id);
    expect(await links.settle(expired.id, now)).toBe(true);
    expect(await links.settle(expired.id, now)).toBe(false);
    expect((await links.expiredUnsettled(now, 1000)).map((l) => l.id)).not.toContain(expired.id);
    expect((await links.find(expired.id))?.ciphertext).toBeNull();
    expect(await links.expiredUnsettled(now, 1)).toHaveLength(1);
  });

  it('superseding ends the client’s unopened links in the unit of work: no ciphertext, not due, not settled again', async () => {
    const pending = aLink({ clientId: 'superseded', expiresAt: AT + 60, revokeIfUnopened: true });
    const opened = aLink({ clientId: 'superseded', expiresAt: AT + 60 });
    const other = aLink({ clientId: 'not-superseded', expiresAt: AT + 60 });
    for (const link of [pending, opened, other]) await links.insert(link);
    await links.claim(opened.id, AT + 1, '192.0.2.1');
    await open.store.unitOfWork.run((tx) => links.supersede('superseded', AT + 2, tx));
    expect(await links.find(pending.id)).toMatchObject({ ciphertext: null, supersededAt: AT + 2, openedAt: null });
    expect(await links.find(opened.id)).toMatchObject({ supersededAt: null, openedAt: AT + 1 });
    expect((await links.find(other.id))?.ciphertext).toBe(other.ciphertext);
    const due = (await links.expiredUnsettled(AT + 61, 1000)).map((l) => l.id);
    expect(due).not.toContain(pending.id);
    expect(due).toContain(opened.id);
    expect(await links.settle(pending.id, AT + 61)).toBe(false);
    await expect(
      open.store.unitOfWork.run(async (tx) => {
        await links.supersede('not-superseded', AT + 3, tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await links.find(other.id)).toMatchObject({ supersededAt: null, ciphertext: other.ciphertext });
  });
});
