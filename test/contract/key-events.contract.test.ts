import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlClientStore } from '../../src/persistence/sql/client-store.js';
import { createSqlKeyEventStore } from '../../src/persistence/sql/key-event-store.js';
import { createKnexUnitOfWork } from '../../src/persistence/sql/unit-of-work.js';
import {
  createKeyChangeSubscriber,
  createKeyEventHub,
  deleteOldKeyEvents,
  KEY_EVENT_RETENTION_MS,
  type KeyEventHub,
  type KeyEventListener,
  type KeyEventStore,
} from '../../src/events/key-events.js';
import type { Db } from '../../src/persistence/sql/knex.js';
import type { Tx, UnitOfWork } from '../../src/unit-of-work.js';

/** A change as the client service publishes it: the key-change subscriber writes its row in the transaction. */
const recordKeyChange = (db: Db, clientId: string) =>
  db.transaction((trx) =>
    createKeyChangeSubscriber(createSqlKeyEventStore(db))(
      { type: 'client.revoked', clientId, teamId: null },
      trx as unknown as Tx,
    ),
  );
import { storeTargets, type OpenStore } from './targets.js';
import { manualClock } from '../../src/clock.js';

/** The hub reads what any process wrote: the "store" is the database, each process its own connection. */
const TARGETS = storeTargets<Db>('key events', { sql: (db) => db });

/** A listener that keeps what it heard and lets a test await the next beat after a given change. */
function listening(callerId = 'rs') {
  const changes: string[] = [];
  let beats = 0;
  let ended = false;
  const waiters: Array<() => void> = [];
  const listener: KeyEventListener = {
    callerId,
    change: (clientId) => changes.push(clientId),
    beat: () => {
      beats += 1;
      waiters.splice(0).forEach((wake) => wake());
    },
    end: () => {
      ended = true;
    },
  };
  /** Resolves at the first beat after `clientId` was heard (the test's timeout bounds it). */
  const heard = async (clientId: string) => {
    while (!changes.includes(clientId)) await new Promise<void>((wake) => waiters.push(wake));
  };
  const nextBeat = () => new Promise<void>((wake) => waiters.push(wake));
  return { listener, changes, heard, nextBeat, beats: () => beats, ended: () => ended };
}

describe.each(TARGETS)('key events contract on $name', (target) => {
  let open: OpenStore<Db>;
  let hub: KeyEventHub;
  beforeAll(async () => {
    open = await target.open();
    hub = createKeyEventHub(createSqlKeyEventStore(open.another()), { pollMs: 20 });
  });
  afterAll(async () => {
    hub?.close();
    await open?.close();
  });

  it("a change recorded by another process's transaction is passed to a listener, once, followed by beats", async () => {
    const ear = listening();
    const stop = hub.subscribe(ear.listener);
    const clients = createSqlClientStore(open.store);
    await clients.insert({
      clientId: 'ke-changed',
      kind: 'service_account',
      name: null,
      teamId: null,
      userId: null,
      secretHash: '$2b$10$x',
      publicKeyPem: null,
      redirectUris: [],
      environment: 'prod',
      scopes: [],
      secretHint: null,
      createdAt: 1,
      expiresAt: null,
    });
    await createKnexUnitOfWork(open.store).run(async (tx) => {
      await clients.revoke('ke-changed', 2, tx);
      await createKeyChangeSubscriber(createSqlKeyEventStore(open.store))(
        { type: 'client.revoked', clientId: 'ke-changed', teamId: null },
        tx,
      );
    });
    await ear.heard('ke-changed');
    await ear.nextBeat();
    await ear.nextBeat();
    expect(ear.changes.filter((id) => id === 'ke-changed')).toEqual(['ke-changed']);
    stop();
  });

  it('a change committed just before subscribing is still passed on (the lookback); an update of no row records none', async () => {
    await recordKeyChange(open.store, 'ke-before');
    expect(await createSqlClientStore(open.store).update('ke-nobody', { name: 'x' })).toBe(false);
    const ear = listening();
    const stop = hub.subscribe(ear.listener);
    await ear.heard('ke-before');
    await ear.nextBeat();
    expect(ear.changes).not.toContain('ke-nobody');
    stop();
  });

  it('every listener hears a change; held counts subscriptions per caller; close ends them', async () => {
    const a = listening('rs-a');
    const b = listening('rs-b');
    const own = createKeyEventHub(createSqlKeyEventStore(open.another()), { pollMs: 20 });
    own.subscribe(a.listener);
    own.subscribe(b.listener);
    expect(own.held('rs-a')).toBe(1);
    await recordKeyChange(open.store, 'ke-both');
    await Promise.all([a.heard('ke-both'), b.heard('ke-both')]);
    own.close();
    expect([a.ended(), b.ended()]).toEqual([true, true]);
    const late = listening('rs-late');
    own.subscribe(late.listener);
    expect(late.ended()).toBe(true);
  });

  it('the sweep keeps recent changes (they are still read back)', async () => {
    await recordKeyChange(open.store, 'ke-recent');
    await deleteOldKeyEvents(createSqlKeyEventStore(open.store));
    const ear = listening();
    const stop = hub.subscribe(ear.listener);
    await ear.heard('ke-recent');
    stop();
  });
});

const AT = 1_900_000_000_000; // ms
const UNIT_TARGETS = storeTargets<{ events: KeyEventStore; unitOfWork: UnitOfWork }>('key events', {
  sql: (db) => ({ events: createSqlKeyEventStore(db), unitOfWork: createKnexUnitOfWork(db) }),
});

describe.each(UNIT_TARGETS)('key anEvent store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<{ events: KeyEventStore; unitOfWork: UnitOfWork }>;
  let events: KeyEventStore;
  beforeAll(async () => {
    open = await target.open();
    events = open.store.events;
  });
  afterAll(async () => open?.close());

  it('answers the changes recorded since a moment, in the order they were recorded', async () => {
    await events.record('a', AT);
    await events.record('b', AT + 10);
    await events.record('a', AT + 20);
    const since = await events.since(AT + 10);
    expect(since.map((e) => e.clientId)).toEqual(['b', 'a']);
    expect(since[0]!.id).toBeLessThan(since[1]!.id);
    expect(await events.since(AT + 21)).toEqual([]);
  });

  it('a change recorded in a unit of work that fails is never seen', async () => {
    await expect(
      open.store.unitOfWork.run(async (tx) => {
        await events.record('rolled-back', AT + 30, tx);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await events.since(AT)).map((e) => e.clientId)).not.toContain('rolled-back');
  });

  it('the sweep deletes changes older than the retention (by the manual) and keeps the rest', async () => {
    await events.record('old', AT - KEY_EVENT_RETENTION_MS - 1);
    const manual = manualClock(AT);
    expect(await deleteOldKeyEvents(events, manual)).toBe(1);
    expect((await events.since(0)).map((e) => e.clientId)).toEqual(['a', 'b', 'a']);
    manual.advance(KEY_EVENT_RETENTION_MS + 100);
    expect(await deleteOldKeyEvents(events, manual)).toBe(3);
    expect(await events.since(0)).toEqual([]);
  });
});
