import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlSessionStore } from '../../src/persistence/sql/session-store.js';
import { createDashboardSessions, IDLE_SECONDS, type DashboardSessions } from '../../src/dashboard/sessions.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';
import { manualClock } from '../../src/clock.js';
import type { SessionStore } from '../../src/teams/session-store.js';

const TARGETS = storeTargets<DashboardSessions>('dashboard sessions', {
  sql: (db) => createDashboardSessions(createSqlSessionStore(db)),
});

describe.each(TARGETS)('dashboard sessions contract on $name', (target) => {
  let open: OpenStore<DashboardSessions>;
  let teamId: number;
  let userId: number;
  beforeAll(async () => {
    open = await target.open();
    const teams = createSqlTeamStore(open.db!);
    teamId = (await teams.createTeam('sessions', 'free')).id;
    userId = (await teams.createMember(teamId, { kind: 'person', email: 's@example.com' }, 'admin')).id;
  });
  afterAll(async () => open?.close());

  it('a session created is found by its cookie, from another process too; the cookie itself is not stored', async () => {
    const cookie = await open.store.create(userId, teamId);
    const found = await open.another().find(cookie);
    expect(found).toMatchObject({ userId, teamId, lastFormNonce: null });
    expect(found?.id).not.toBe(cookie);
  });

  it('an unknown, malformed or missing cookie finds nothing', async () => {
    const cookie = await open.store.create(userId, teamId);
    const other = cookie.slice(0, -1) + (cookie.endsWith('A') ? 'B' : 'A');
    expect(await open.store.find(other)).toBeUndefined();
    expect(await open.store.find(cookie + 'x')).toBeUndefined();
    expect(await open.store.find(undefined)).toBeUndefined();
    expect(await open.store.find('')).toBeUndefined();
  });

  it('an ended session is no longer found; other sessions of the user stay', async () => {
    const ended = await open.store.create(userId, teamId);
    const kept = await open.store.create(userId, teamId);
    await open.store.end(ended);
    expect(await open.store.find(ended)).toBeUndefined();
    expect(await open.store.find(kept)).toMatchObject({ userId });
    await open.store.end(undefined);
  });

  it('a form nonce is used once; a new nonce passes again', async () => {
    const session = (await open.store.find(await open.store.create(userId, teamId)))!;
    const [a, b] = await Promise.all([open.store.useNonce(session, 'n1'), open.another().useNonce(session, 'n1')]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await open.store.useNonce(session, 'n2')).toBe(true);
    expect((await open.store.find(await open.store.create(userId, teamId)))?.lastFormNonce).toBeNull();
  });
});

const AT = 1_900_000_000;
const UNIT_TARGETS = storeTargets<SessionStore>('dashboard sessions', { sql: (db) => createSqlSessionStore(db) });

describe.each(UNIT_TARGETS)('dashboard session store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<SessionStore>;
  let store: SessionStore;
  beforeAll(async () => {
    open = await target.open();
    store = open.store;
  });
  afterAll(async () => open?.close());

  it('inserts, finds by exact id, touches and deletes; unknown ids are undefined', async () => {
    await store.insert({ id: 'session-a', userId: 1, teamId: 2, createdAt: AT, lastSeenAt: AT });
    expect(await store.find('session-a')).toEqual({
      id: 'session-a',
      userId: 1,
      teamId: 2,
      createdAt: AT,
      lastSeenAt: AT,
      lastFormNonce: null,
    });
    expect(await store.find('session-a ')).toBeUndefined();
    await store.touch('session-a', AT + 90);
    expect((await store.find('session-a'))?.lastSeenAt).toBe(AT + 90);
    await store.delete('session-a');
    expect(await store.find('session-a')).toBeUndefined();
  });

  it('refuses a second session with the same id', async () => {
    await store.insert({ id: 'session-dup', userId: 1, teamId: 2, createdAt: AT, lastSeenAt: AT });
    await expect(
      store.insert({ id: 'session-dup', userId: 3, teamId: 4, createdAt: AT, lastSeenAt: AT }),
    ).rejects.toThrow();
  });

  it('a form nonce passes once, and again only after another one', async () => {
    await store.insert({ id: 'session-n', userId: 1, teamId: 2, createdAt: AT, lastSeenAt: AT });
    expect(await store.useNonce('session-n', 'n1')).toBe(true);
    expect(await store.useNonce('session-n', 'n1')).toBe(false);
    expect(await store.useNonce('session-n', 'n2')).toBe(true);
    expect(await store.useNonce('no-session', 'n1')).toBe(false);
  });

  it("deletes a person's sessions, all or all but one, and no one else's", async () => {
    for (const id of ['p-1', 'p-2', 'p-3'])
      await store.insert({ id, userId: 41, teamId: 2, createdAt: AT, lastSeenAt: AT });
    await store.insert({ id: 'q-1', userId: 42, teamId: 2, createdAt: AT, lastSeenAt: AT });
    expect(await store.deleteForUser(41, 'p-2')).toBe(2);
    expect(await store.find('p-1')).toBeUndefined();
    expect(await store.find('p-2')).toBeDefined();
    expect(await store.deleteForUser(41)).toBe(1);
    expect(await store.find('p-2')).toBeUndefined();
    expect(await store.find('q-1')).toBeDefined();
  });

  it('through the sessions: however active, a session ends maxSeconds after it was created', async () => {
    const manual = manualClock(AT * 1000);
    const sessions = createDashboardSessions(store, manual, { maxSeconds: 3600 });
    const cookie = await sessions.create(7, 8);
    for (let i = 0; i < 3; i++) {
      manual.advance(20 * 60_000 - 1000);
      expect(await sessions.find(cookie)).toMatchObject({ userId: 7 });
    }
    manual.advance(5000);
    expect(await sessions.find(cookie)).toBeUndefined();
  });

  it('deletes only the sessions last seen before the moment given', async () => {
    await store.insert({ id: 'session-old', userId: 1, teamId: 2, createdAt: AT, lastSeenAt: AT - 10 });
    await store.insert({ id: 'session-new', userId: 1, teamId: 2, createdAt: AT, lastSeenAt: AT + 10 });
    expect(await store.deleteSeenBefore(AT)).toBeGreaterThanOrEqual(1);
    expect(await store.find('session-old')).toBeUndefined();
    expect(await store.find('session-new')).toBeDefined();
  });

  it('through the sessions: a cookie finds its session until it idles past the limit (by the manual)', async () => {
    const manual = manualClock(AT * 1000);
    const sessions = createDashboardSessions(store, manual);
    const cookie = await sessions.create(5, 6);
    expect(await sessions.find(cookie)).toMatchObject({ userId: 5, teamId: 6 });
    manual.advance((IDLE_SECONDS - 1) * 1000);
    expect(await sessions.find(cookie)).toMatchObject({ userId: 5 });
    manual.advance((IDLE_SECONDS + 1) * 1000);
    expect(await sessions.find(cookie)).toBeUndefined();
    expect(await sessions.find('not-a-cookie')).toBeUndefined();
  });
});
