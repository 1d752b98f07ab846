import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalEmail } from '../../src/teams/email.js';
import { manualClock } from '../../src/clock.js';
import { Conflict } from '../../src/errors.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { createSqlTeamSyncStore } from '../../src/persistence/sql/team-sync-store.js';
import type { TeamStore } from '../../src/teams/store.js';
import { storeTargets, type OpenStore } from './targets.js';
import { createKnexUnitOfWork } from '../../src/persistence/sql/unit-of-work.js';
import type { UnitOfWork } from '../../src/unit-of-work.js';

const TARGETS = storeTargets<TeamStore>('team store', { sql: (db, clock) => createSqlTeamStore(db, clock) });
const T0 = 1_900_000_000;

describe.each(TARGETS)('team store contract on $name', (target) => {
  let open: OpenStore<TeamStore>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('a team created is found by id, from another process too; an unknown id answers undefined', async () => {
    const team = await open.store.createTeam('Acme', 'pro');
    expect(team).toMatchObject({ name: 'Acme', plan: 'pro' });
    expect(await open.another().findTeam(team.id)).toEqual(team);
    expect(await open.store.findTeam(team.id + 1000)).toBeUndefined();
  });

  it('a member created is a user with a membership and role; unknown users and memberships answer undefined', async () => {
    const team = await open.store.createTeam('Members', 'free');
    const other = await open.store.createTeam('Elsewhere', 'free');
    const ada = await open.store.createMember(
      team.id,
      { kind: 'person', email: 'ada@example.com', passwordHash: 'h', name: 'Ada' },
      'admin',
    );
    const bot = await open.store.createMember(team.id, { kind: 'service_account' }, 'member');
    expect(await open.store.findUser(ada.id)).toEqual({
      id: ada.id,
      kind: 'person',
      email: 'ada@example.com',
      passwordHash: 'h',
      name: 'Ada',
    });
    expect(await open.store.findMembership(team.id, ada.id)).toEqual({
      teamId: team.id,
      userId: ada.id,
      role: 'admin',
    });
    expect(await open.store.findMembership(other.id, ada.id)).toBeUndefined();
    expect(await open.store.findUser(bot.id + 1000)).toBeUndefined();
    expect((await open.store.listMembers(team.id)).map((m) => [m.user.id, m.role])).toEqual([
      [ada.id, 'admin'],
      [bot.id, 'member'],
    ]);
    expect(await open.store.listMembers(other.id)).toEqual([]);
  });

  it("a user's memberships list every team it belongs to, each with its own role", async () => {
    const first = await open.store.createTeam('First', 'free');
    const second = await open.store.createTeam('Second', 'free');
    const user = await open.store.createMember(first.id, { kind: 'person', email: 'two@example.com' }, 'member');
    await open.db!('team_memberships').insert({ team_id: second.id, user_id: user.id, role: 'admin', created_at: 1 });
    const memberships = await open.store.membershipsOf(user.id);
    expect(memberships).toHaveLength(2);
    expect(memberships).toEqual(
      expect.arrayContaining([
        { teamId: first.id, userId: user.id, role: 'member' },
        { teamId: second.id, userId: user.id, role: 'admin' },
      ]),
    );
    expect(memberships[0]).toEqual({ teamId: second.id, userId: user.id, role: 'admin' }); // oldest first
    expect(await open.store.membershipsOf(user.id + 1000)).toEqual([]);
  });

  it("a team's creation time is the clock's; an email already taken is a conflict and adds no user", async () => {
    const clock = manualClock(T0 * 1000);
    const store = open.another(clock);
    const team = await store.createTeam('Timed', 'free');
    expect(team.createdAt).toBe(T0);
    expect((await open.store.findTeam(team.id))?.createdAt).toBe(T0);
    await store.createMember(team.id, { kind: 'person', email: 'taken@example.com' }, 'admin');
    await expect(
      store.createMember(team.id, { kind: 'person', email: 'taken@example.com' }, 'member'),
    ).rejects.toBeInstanceOf(Conflict);
    expect(await open.store.listMembers(team.id)).toHaveLength(1);
  });

  it('an email is found by its canonical form byte for byte: ä is never a, other case or spaces never match', async () => {
    const team = await open.store.createTeam('Emails', 'free');
    const stored = canonicalEmail('  Renä@Example.COM ');
    expect(stored).toBe('renä@example.com');
    const user = await open.store.createMember(team.id, { kind: 'person', email: stored }, 'member');
    expect((await open.store.findUserByEmail(canonicalEmail('RENÄ@example.com')))?.id).toBe(user.id);
    // NFD spelling of ä becomes the stored NFC form.
    expect((await open.store.findUserByEmail(canonicalEmail('rena\u0308@example.com')))?.id).toBe(user.id);
    expect(await open.store.findUserByEmail('rena@example.com')).toBeUndefined();
    expect(await open.store.findUserByEmail('RENä@example.com')).toBeUndefined();
    expect(await open.store.findUserByEmail('renä@example.com ')).toBeUndefined();
    expect(await open.store.findUserByEmail('nobody@example.com')).toBeUndefined();
  });
});

const AT = 1_900_000_000;
const manual = manualClock(AT * 1000);
const UNIT_TARGETS = storeTargets<{ teams: TeamStore; unitOfWork: UnitOfWork }>(
  'teams and users',
  { sql: (db, c) => ({ teams: createSqlTeamStore(db, c), unitOfWork: createKnexUnitOfWork(db) }) },
  manual,
);

describe.each(UNIT_TARGETS)('team store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<{ teams: TeamStore; unitOfWork: UnitOfWork }>;
  let teams: TeamStore;
  beforeAll(async () => {
    open = await target.open();
    teams = open.store.teams;
  });
  afterAll(async () => open?.close());

  it('creates and finds a team, stamped by the manual; an unknown team is undefined', async () => {
    manual.set((AT + 7) * 1000);
    const team = await teams.createTeam('Acme', 'pro');
    expect(team).toEqual({ id: expect.any(Number), name: 'Acme', plan: 'pro', createdAt: AT + 7 });
    expect(await teams.findTeam(team.id)).toEqual(team);
    expect(await teams.findTeam(999_999)).toBeUndefined();
    manual.set(AT * 1000);
  });

  it('creates a member with its membership; finds the user by id and by exact email only', async () => {
    const team = await teams.createTeam('Members', 'pro');
    const user = await teams.createMember(
      team.id,
      { kind: 'person', email: 'ada@members.test', passwordHash: 'hash' },
      'admin',
    );
    expect(user).toMatchObject({ kind: 'person', email: 'ada@members.test', passwordHash: 'hash', name: null });
    expect(await teams.findUser(user.id)).toEqual(user);
    expect(await teams.findUserByEmail('ada@members.test')).toEqual(user);
    expect(await teams.findUserByEmail('ada@members.test ')).toBeUndefined();
    expect(await teams.findUserByEmail('nobody@members.test')).toBeUndefined();
    expect(await teams.findUser(999_999)).toBeUndefined();
    expect(await teams.findMembership(team.id, user.id)).toEqual({ teamId: team.id, userId: user.id, role: 'admin' });
    expect(await teams.findMembership(team.id, 999_999)).toBeUndefined();
  });

  it('refuses a second user with a taken email as a conflict, and writes no membership for it', async () => {
    const team = await teams.createTeam('Taken', 'pro');
    await teams.createMember(team.id, { kind: 'person', email: 'taken@taken.test', passwordHash: 'h' }, 'member');
    await expect(
      teams.createMember(team.id, { kind: 'person', email: 'taken@taken.test', passwordHash: 'h' }, 'admin'),
    ).rejects.toBeInstanceOf(Conflict);
    expect(await teams.listMembers(team.id)).toHaveLength(1);
  });

  it('lists members in the order they joined, with roles, and a user’s memberships oldest first', async () => {
    const first = await teams.createTeam('First', 'pro');
    const second = await teams.createTeam('Second', 'pro');
    const ada = await teams.createMember(first.id, { kind: 'person', email: 'ada@list.test' }, 'admin');
    const bot = await teams.createMember(first.id, { kind: 'service_account', name: 'ci' }, 'member');
    expect((await teams.listMembers(first.id)).map((m) => [m.user.id, m.role])).toEqual([
      [ada.id, 'admin'],
      [bot.id, 'member'],
    ]);
    expect(await teams.listMembers(second.id)).toEqual([]);
    expect(await teams.membershipsOf(ada.id)).toEqual([{ teamId: first.id, userId: ada.id, role: 'admin' }]);
  });

  it('a unit of work that fails leaves no user and no membership', async () => {
    const team = await teams.createTeam('Rolled back', 'pro');
    await expect(
      open.store.unitOfWork.run(async (tx) => {
        await teams.createMember(team.id, { kind: 'person', email: 'gone@rolled.test' }, 'admin', tx);
        throw new Error('what follows fails');
      }),
    ).rejects.toThrow('what follows fails');
    expect(await teams.findUserByEmail('gone@rolled.test')).toBeUndefined();
    expect(await teams.listMembers(team.id)).toEqual([]);
  });

  it('a team is found by the product’s id byte for byte, with its suspension, from another process too', async () => {
    const sync = createSqlTeamSyncStore(open.db!);
    const uow = open.store.unitOfWork;
    const team = await uow.run((tx) => sync.createSyncedTeam({ externalId: 'Org_Ext', name: 'Ext', plan: 'pro' }, tx));
    expect(await open.another().teams.findTeamByExternalId('Org_Ext')).toMatchObject({
      id: team.id,
      externalId: 'Org_Ext',
    });
    expect((await open.store.teams.findTeamByExternalId('Org_Ext'))?.suspendedAt ?? null).toBeNull();
    // Another case, or trailing space, is another id on every database.
    expect(await open.store.teams.findTeamByExternalId('org_ext')).toBeUndefined();
    expect(await open.store.teams.findTeamByExternalId('Org_Ext ')).toBeUndefined();
    await uow.run((tx) => sync.setSuspended(team.id, T0, tx));
    expect(await open.another().teams.findTeamByExternalId('Org_Ext')).toMatchObject({ id: team.id, suspendedAt: T0 });
  });
});
