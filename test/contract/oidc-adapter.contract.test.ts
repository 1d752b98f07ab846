import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors } from 'oidc-provider';
import { manualClock } from '../../src/clock.js';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { migrateLatest } from '../../src/persistence/sql/migrate.js';
import { createAdapterFactory, deleteExpiredPayloads, storageKey } from '../../src/persistence/sql/oidc-adapter.js';
import { DATABASES } from '../helpers/databases.js';

describe.each(DATABASES)('oidc-provider adapter contract on $name', (database) => {
  let db: Db;
  let drop: () => Promise<void>;
  let url: string;
  let adapterFor: ReturnType<typeof createAdapterFactory>;
  const clock = manualClock();

  beforeAll(async () => {
    const created = await database.create();
    ({ url, drop } = created);
    db = createDb(url);
    await migrateLatest(db);
    adapterFor = createAdapterFactory(db, async () => undefined, clock);
  });

  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  it('stores, finds, updates and destroys a payload', async () => {
    const codes = adapterFor('AuthorizationCode');
    await codes.upsert('c1', { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode' }, 60);
    expect(await codes.find('c1')).toMatchObject({ jti: 'c1', grantId: 'g1' });
    await codes.upsert('c1', { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode', scope: 'api:read' }, 60);
    expect(await codes.find('c1')).toMatchObject({ scope: 'api:read' });
    await codes.destroy('c1');
    expect(await codes.find('c1')).toBeUndefined();
  });

  it('stores no bearer token in clear: the key is its SHA-256 and the payload leaves it out', async () => {
    const tokens = adapterFor('AccessToken');
    const value = 'tok_SecretBearerValue123';
    await tokens.upsert(value, { jti: value, kind: 'AccessToken', clientId: 'c' }, 60);
    const rows = await db('oidc_payloads').where({ type: 'AccessToken' });
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(await tokens.find(value)).toMatchObject({ jti: value, clientId: 'c' });
  });

  it('keeps models apart: the same id under another model is another row', async () => {
    await adapterFor('AccessToken').upsert('same', { kind: 'AccessToken' }, 60);
    expect(await adapterFor('RefreshToken').find('same')).toBeUndefined();
  });

  it('compares ids byte for byte', async () => {
    const tokens = adapterFor('AccessToken');
    await tokens.upsert('AbC', { kind: 'AccessToken' }, 60);
    expect(await tokens.find('abc')).toBeUndefined();
    expect(await tokens.find('AbC')).toBeDefined();
  });

  it('finds by uid and by user code', async () => {
    await adapterFor('Interaction').upsert('i1', { uid: 'u-1', kind: 'Interaction' }, 60);
    await adapterFor('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH', kind: 'DeviceCode' }, 60);
    expect(await adapterFor('Interaction').findByUid('u-1')).toMatchObject({ uid: 'u-1' });
    expect(await adapterFor('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    expect(await adapterFor('Interaction').findByUid('u-2')).toBeUndefined();
  });

  it('treats an expired row as absent, and the sweep deletes it', async () => {
    const tokens = adapterFor('AccessToken');
    await tokens.upsert('old', { kind: 'AccessToken' }, 60);
    await tokens.upsert('young', { kind: 'AccessToken' }, 120);
    clock.advance(59_000);
    expect(await tokens.find('old')).toBeDefined();
    clock.advance(1000);
    expect(await tokens.find('old')).toBeUndefined();
    expect(await deleteExpiredPayloads(db, clock)).toBeGreaterThanOrEqual(1);
    expect(
      await db('oidc_payloads')
        .where({ id: storageKey('old') })
        .first(),
    ).toBeUndefined();
    expect(await tokens.find('young')).toBeDefined();
  });

  it('revokes every payload of a grant', async () => {
    await adapterFor('AccessToken').upsert('a1', { grantId: 'g9', kind: 'AccessToken' }, 60);
    await adapterFor('RefreshToken').upsert('r1', { grantId: 'g9', kind: 'RefreshToken' }, 60);
    await adapterFor('AccessToken').upsert('a2', { grantId: 'other', kind: 'AccessToken' }, 60);
    await adapterFor('Grant').revokeByGrantId('g9');
    expect(await adapterFor('AccessToken').find('a1')).toBeUndefined();
    expect(await adapterFor('RefreshToken').find('r1')).toBeUndefined();
    expect(await adapterFor('AccessToken').find('a2')).toBeDefined();
  });

  it('consume marks the payload consumed and refuses a second consume', async () => {
    const codes = adapterFor('AuthorizationCode');
    await codes.upsert('once', { kind: 'AuthorizationCode' }, 60);
    await codes.consume('once');
    expect((await codes.find('once'))?.consumed).toEqual(expect.any(Number));
    await expect(codes.consume('once')).rejects.toBeInstanceOf(errors.InvalidGrant);
  });

  it('consume is atomic: of ten concurrent consumes exactly one wins', async () => {
    const codes = adapterFor('AuthorizationCode');
    await codes.upsert('race', { kind: 'AuthorizationCode' }, 60);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => codes.consume('race')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('replay detection is atomic: of ten concurrent saves of one jti exactly one wins', async () => {
    const replay = adapterFor('ReplayDetection');
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => replay.upsert('jti-1', { iss: 'c', kind: 'ReplayDetection' }, 60)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(errors.InvalidClientAuth);
  });

  it('20 concurrent writes and reads of tokens (batched together) each find their own', async () => {
    const tokens = adapterFor('AccessToken');
    const ids = Array.from({ length: 20 }, (_, i) => `concurrent-${i}`);
    await Promise.all(ids.map((id) => tokens.upsert(id, { kind: 'AccessToken', clientId: id }, 60)));
    const found = await Promise.all([...ids, 'never-issued'].map((id) => tokens.find(id)));
    expect(found.map((p) => p?.clientId)).toEqual([...ids, undefined]);
  });

  it('replay detection across two processes on the database: of 20 concurrent saves of one jti exactly one wins', async () => {
    const other = createDb(url);
    try {
      const adapters = [adapterFor, createAdapterFactory(other, async () => undefined, clock)];
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          adapters[i % 2]!('ReplayDetection').upsert('jti-two', { iss: 'c', kind: 'ReplayDetection' }, 60),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    } finally {
      await other.destroy();
    }
  });
});
