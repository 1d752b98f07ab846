import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditSubscriber } from '../../src/audit/audit-subscriber.js';
import { createSqlAuditStore } from '../../src/persistence/sql/audit-store.js';
import { createSqlKeyEventStore } from '../../src/persistence/sql/key-event-store.js';
import { createDomainEvents, type DomainEvents } from '../../src/events/domain-events.js';
import { createKeyChangeSubscriber } from '../../src/events/key-events.js';
import type { Db } from '../../src/persistence/sql/knex.js';
import type { Tx } from '../../src/unit-of-work.js';
import { sqlTargets, type Backing } from './targets.js';

/** Subscribers write in the publishing transaction: a change that rolls back leaves no event behind. */
describe.each(sqlTargets())('domain events on $name', (target) => {
  let backing: Backing<Db>;
  let db: Db;
  let events: DomainEvents;

  beforeAll(async () => {
    backing = await target.open();
    db = backing.main;
    events = createDomainEvents([
      createKeyChangeSubscriber(createSqlKeyEventStore(db)),
      createAuditSubscriber(createSqlAuditStore(db), { type: 'operator', id: 'cli' }),
    ]);
  });

  afterAll(() => backing.close());

  const rows = async (clientId: string) => ({
    keyEvents: (await db('key_events').where({ client_id: clientId })).length,
    audit: (await db('audit_events').where({ client_id: clientId })).length,
  });

  it('an event published in a transaction that rolls back leaves no key_events row and no audit row', async () => {
    const refused = new Error('the change is refused after its event');
    await expect(
      db.transaction(async (trx) => {
        await events.publish({ type: 'client.revoked', clientId: 'rolled-back', teamId: null }, trx as unknown as Tx);
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(await rows('rolled-back')).toEqual({ keyEvents: 0, audit: 0 });
  });

  it('an event published in a transaction that commits leaves one row of each', async () => {
    await db.transaction(async (trx) => {
      await events.publish({ type: 'client.revoked', clientId: 'committed', teamId: null }, trx as unknown as Tx);
    });
    expect(await rows('committed')).toEqual({ keyEvents: 1, audit: 1 });
  });
});
