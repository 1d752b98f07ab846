import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlSessionStore } from '../../src/persistence/sql/session-store.js';
import { createDashboardSessions, type DashboardSessions } from '../../src/dashboard/sessions.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';

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
