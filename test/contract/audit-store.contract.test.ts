import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditStore } from '../../src/audit/audit.js';
import { createSqlAuditStore } from '../../src/persistence/sql/audit-store.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';

const TARGETS = storeTargets<AuditStore>('audit store', { sql: (db) => createSqlAuditStore(db) });

const event = (teamId: number | null, clientId: string, more: Partial<AuditEvent> = {}): AuditEvent => ({
  teamId,
  actorType: 'operator',
  actorId: null,
  action: 'client.create',
  clientId,
  status: 201,
  ip: '192.0.2.1',
  ...more,
});

describe.each(TARGETS)('audit store contract on $name', (target) => {
  let open: OpenStore<AuditStore>;
  let teams: { create(name: string): Promise<number> };
  beforeAll(async () => {
    open = await target.open();
    const store = createSqlTeamStore(open.db!);
    teams = { create: async (name) => (await store.createTeam(name, 'free')).id };
  });
  afterAll(async () => open?.close());

  it('an event recorded is listed with what was recorded (details as JSON, time as ISO)', async () => {
    const team = await teams.create('recorded');
    const before = Math.floor(Date.now() / 1000);
    await open
      .another()
      .record(
        event(team, 'c1', { actorType: 'person', actorId: '7', action: 'client.update', details: { scopes: ['a'] } }),
      );
    const { total, events } = await open.store.listByTeam(team, { limit: 10, offset: 0 });
    expect(total).toBe(1);
    expect(events[0]).toMatchObject({
      action: 'client.update',
      actor: { type: 'person', id: '7' },
      client_id: 'c1',
      status: 201,
      ip: '192.0.2.1',
      details: { scopes: ['a'] },
    });
    expect(Date.parse(events[0]!.created_at) / 1000).toBeGreaterThanOrEqual(before);
  });

  it('lists newest first and pages by limit and offset, the total counting every event', async () => {
    const team = await teams.create('paged');
    for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) await open.store.record(event(team, id));
    const first = await open.store.listByTeam(team, { limit: 2, offset: 0 });
    const second = await open.store.listByTeam(team, { limit: 2, offset: 2 });
    const last = await open.store.listByTeam(team, { limit: 2, offset: 4 });
    expect(first.total).toBe(5);
    expect([...first.events, ...second.events, ...last.events].map((e) => e.client_id)).toEqual([
      'p5',
      'p4',
      'p3',
      'p2',
      'p1',
    ]);
    expect(last.events).toHaveLength(1);
    expect(first.events[0]!.details).toBeNull();
  });

  it("one team's events never appear in another's list, nor events of no team", async () => {
    const mine = await teams.create('mine');
    const theirs = await teams.create('theirs');
    await open.store.record(event(mine, 'mine-1'));
    await open.store.record(event(theirs, 'theirs-1'));
    await open.store.record(event(null, 'nobody', { actorType: 'anonymous', action: 'request.failed', status: 401 }));
    const listed = await open.store.listByTeam(mine, { limit: 100, offset: 0 });
    expect(listed).toMatchObject({ total: 1, events: [{ client_id: 'mine-1' }] });
    expect((await open.store.listByTeam(theirs, { limit: 100, offset: 0 })).events.map((e) => e.client_id)).toEqual([
      'theirs-1',
    ]);
  });
});
