import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditStore } from '../../src/audit/audit.js';
import { createAuditStreams } from '../../src/audit/audit-stream.js';
import { createSqlAuditStore } from '../../src/persistence/sql/audit-store.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';
import { manualClock } from '../../src/clock.js';
import { createKnexUnitOfWork } from '../../src/persistence/sql/unit-of-work.js';
import type { UnitOfWork } from '../../src/unit-of-work.js';

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

const AT = 1_900_000_000;
const manual = manualClock(AT * 1000);
const UNIT_TARGETS = storeTargets<{ audit: AuditStore; unitOfWork: UnitOfWork }>(
  'audit',
  { sql: (db, c) => ({ audit: createSqlAuditStore(db, c), unitOfWork: createKnexUnitOfWork(db) }) },
  manual,
);

const anEvent = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  teamId: 1,
  actorType: 'operator',
  actorId: 'cli',
  action: 'client.revoke',
  clientId: 'c1',
  status: 200,
  ip: null,
  ...over,
});

describe.each(UNIT_TARGETS)('audit store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<{ audit: AuditStore; unitOfWork: UnitOfWork }>;
  let audit: AuditStore;
  beforeAll(async () => {
    open = await target.open();
    audit = open.store.audit;
  });
  afterAll(async () => open?.close());

  it('records events stamped by the manual and lists a team’s newest first, a page at a time', async () => {
    manual.set(AT * 1000);
    await audit.record(anEvent({ teamId: 10, action: 'client.create', status: 201, details: { kind: 'app' } }));
    manual.advance(5000);
    await audit.record(anEvent({ teamId: 10, actorType: 'person', actorId: '7', ip: '192.0.2.1' }));
    await audit.record(anEvent({ teamId: 11 }));
    const page = await audit.listByTeam(10, { limit: 1, offset: 0 });
    expect(page.total).toBe(2);
    expect(page.events).toEqual([
      {
        id: expect.any(Number),
        action: 'client.revoke',
        actor: { type: 'person', id: '7' },
        client_id: 'c1',
        status: 200,
        ip: '192.0.2.1',
        details: null,
        created_at: new Date((AT + 5) * 1000).toISOString(),
      },
    ]);
    const older = await audit.listByTeam(10, { limit: 5, offset: 1 });
    expect(older.events).toMatchObject([
      { action: 'client.create', status: 201, details: { kind: 'app' }, created_at: new Date(AT * 1000).toISOString() },
    ]);
  });

  it('a team with no events lists none', async () => {
    expect(await audit.listByTeam(404, { limit: 5, offset: 0 })).toEqual({ total: 0, events: [] });
  });

  it('a row recorded in a unit of work that fails is not kept', async () => {
    await expect(
      open.store.unitOfWork.run(async (tx) => {
        await audit.record(anEvent({ teamId: 12 }), tx);
        throw new Error('the change it recorded failed');
      }),
    ).rejects.toThrow('the change it recorded failed');
    expect((await audit.listByTeam(12, { limit: 5, offset: 0 })).total).toBe(0);
  });
});

/** The product-wide stream's reads (issue 26 item 6): every team, by id, with the ids a stream is still waiting for. */
describe.each(TARGETS)('audit store contract on $name: the stream reads', (target) => {
  let open: OpenStore<AuditStore>;
  let teams: { create(name: string): Promise<number> };
  beforeAll(async () => {
    open = await target.open();
    const store = createSqlTeamStore(open.db!);
    teams = { create: async (name) => (await store.createTeam(name, 'free')).id };
  });
  afterAll(async () => open?.close());

  it('latestId is the highest id written, and listAfter gives every team’s later rows, lowest first, with the team', async () => {
    const a = await teams.create('stream-a');
    const b = await teams.create('stream-b');
    const from = await open.store.latestId();
    await open.another().record(event(a, 'sa-1'));
    await open.store.record(event(b, 'sb-1'));
    await open.store.record(event(null, 'nobody', { actorType: 'anonymous', action: 'request.failed', status: 401 }));
    const latest = await open.store.latestId();
    expect(latest).toBeGreaterThan(from);
    const rows = await open.store.listAfter(from, [], 10);
    expect(rows.map((r) => [r.team_id, r.client_id])).toEqual([
      [a, 'sa-1'],
      [b, 'sb-1'],
      [null, 'nobody'],
    ]);
    expect(rows.at(-1)!.id).toBe(latest);
    expect(await open.store.listAfter(latest, [], 10)).toEqual([]);
    // Limited, and ids below afterId are read when asked for (a stream's gaps).
    expect((await open.store.listAfter(from, [], 2)).map((r) => r.client_id)).toEqual(['sa-1', 'sb-1']);
    expect((await open.store.listAfter(latest, [rows[0]!.id], 10)).map((r) => r.client_id)).toEqual(['sa-1']);
  });
});

/** An id that commits after a higher one (out of order) still reaches a stream that passed the higher one. */
describe.each(TARGETS)('the audit stream over the store on $name', (target) => {
  let open: OpenStore<AuditStore>;
  beforeAll(async () => {
    open = await target.open();
  });
  afterAll(async () => open?.close());

  it('passes on a late-committing lower id once, after the higher one', async () => {
    const base = (await open.store.latestId()) + 100;
    const row = (id: number, client: string) => ({
      id,
      team_id: null,
      actor_type: 'operator',
      actor_id: null,
      action: 'client.create',
      client_id: client,
      status: 201,
      ip: null,
      details: null,
      created_at: 1,
    });
    await open.db!('audit_events').insert(row(base, 'first'));
    const streams = createAuditStreams(open.store, { pollMs: 20 });
    const seen: string[] = [];
    let wake = () => undefined as void;
    const stop = await streams.follow(base - 1, {
      event: (e) => {
        seen.push(String(e.client_id));
        wake();
      },
      beat: () => wake(),
      end: () => undefined,
    });
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => {
          if (seen.length >= n) resolve();
        };
        wake();
      });
    await until(1);
    // id base+2 commits first, then base+1 (the transaction that took it was slower).
    await open.db!('audit_events').insert(row(base + 2, 'third'));
    await until(2);
    await open.db!('audit_events').insert(row(base + 1, 'second'));
    await until(3);
    // Polls go on; nothing is passed on twice.
    let beats = 0;
    await new Promise<void>((resolve) => {
      wake = () => {
        if (++beats >= 5) resolve();
      };
    });
    stop();
    streams.close();
    expect(seen).toEqual(['first', 'third', 'second']);
  });
});
