import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalEmail } from '../../src/teams/email.js';
import { manualClock } from '../../src/clock.js';
import { Conflict } from '../../src/errors.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import type { TeamStore } from '../../src/teams/store.js';
import { storeTargets, type OpenStore } from './targets.js';

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
