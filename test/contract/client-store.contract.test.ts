import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRecord } from '../../src/clients/client.js';
import type { ClientStore, NewClient } from '../../src/clients/store.js';
import { createSqlClientStore } from '../../src/persistence/sql/client-store.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';

const TARGETS = storeTargets<ClientStore>('client store', { sql: (db) => createSqlClientStore(db) });
const T0 = 1_900_000_000;

const client = (clientId: string, teamId: number | null, more: Partial<NewClient> = {}): NewClient => ({
  clientId,
  kind: 'service_account',
  name: `name of ${clientId}`,
  teamId,
  userId: null,
  secretHash: `$2b$10$hash.of.${clientId}`,
  publicKeyPem: null,
  redirectUris: [],
  environment: 'prod',
  scopes: ['read', 'write'],
  secretHint: 'ab12',
  createdAt: T0,
  expiresAt: null,
  ...more,
});

describe.each(TARGETS)('client store contract on $name', (target) => {
  let open: OpenStore<ClientStore>;
  let teamId: number;
  let otherTeamId: number;
  beforeAll(async () => {
    open = await target.open();
    const teams = createSqlTeamStore(open.db!);
    teamId = (await teams.createTeam('clients', 'free')).id;
    otherTeamId = (await teams.createTeam('others', 'free')).id;
  });
  afterAll(async () => open?.close());

  it('a client inserted is found by id as written, with its team plan; another process sees it', async () => {
    await open.store.insert(client('c-insert', teamId, { redirectUris: [], expiresAt: T0 + 60 }));
    const found = await open.another().findById('c-insert');
    expect(found).toMatchObject<Partial<ClientRecord>>({
      clientId: 'c-insert',
      kind: 'service_account',
      name: 'name of c-insert',
      teamId,
      secretHash: '$2b$10$hash.of.c-insert',
      scopes: ['read', 'write'],
      environment: 'prod',
      secretHint: 'ab12',
      createdAt: T0,
      expiresAt: T0 + 60,
      revokedAt: null,
      usageCount: 0,
      teamPlan: 'free',
    });
  });

  it('an unknown id, or one differing by a trailing space or case, answers undefined', async () => {
    await open.store.insert(client('c-exact', teamId));
    expect(await open.store.findById('nobody')).toBeUndefined();
    expect(await open.store.findById('c-exact ')).toBeUndefined();
    expect(await open.store.findById('C-EXACT')).toBeUndefined();
    expect(await open.store.update('nobody', { name: 'x' })).toBe(false);
  });

  it('findManyById answers in the order asked, duplicates repeated, unknown ids undefined', async () => {
    await open.store.insert(client('c-many-1', teamId));
    await open.store.insert(client('c-many-2', teamId));
    const found = await open.store.findManyById(['c-many-2', 'unknown', 'c-many-1', 'c-many-2']);
    expect(found.map((c) => c?.clientId)).toEqual(['c-many-2', undefined, 'c-many-1', 'c-many-2']);
  });

  it('findByKeyDigest finds the client whose digest was written with its secret, undefined otherwise', async () => {
    await open.store.insert(client('c-digest', teamId, { keyDigest: 'digest-of-c-digest' }));
    const [found, unknown] = await open.store.findByKeyDigest(['digest-of-c-digest', 'digest-of-nobody']);
    expect(found?.clientId).toBe('c-digest');
    expect(found?.keyDigest).toBe('digest-of-c-digest');
    expect(unknown).toBeUndefined();
  });

  it('a digest whose secret was replaced by hand no longer finds the client', async () => {
    await open.store.insert(client('c-unbound', teamId, { keyDigest: 'digest-of-c-unbound' }));
    // The runbook's way to reset a secret: a new hash pasted into the row.
    await open.db!('o_auth_clients').where({ client_id: 'c-unbound' }).update({ client_secret_hash: '$2y$10$pasted' });
    expect(await open.store.findByKeyDigest(['digest-of-c-unbound'])).toEqual([undefined]);
  });

  it('update changes only the fields given and answers true', async () => {
    await open.store.insert(client('c-update', teamId));
    expect(await open.store.update('c-update', { scopes: ['read'], name: null })).toBe(true);
    expect(await open.store.findById('c-update')).toMatchObject({
      scopes: ['read'],
      name: null,
      secretHash: '$2b$10$hash.of.c-update',
      secretHint: 'ab12',
    });
  });

  it('revoke sets revokedAt once (a second revoke keeps the first time) and the client is no longer counted valid', async () => {
    await open.store.insert(client('c-revoke', otherTeamId));
    await open.store.insert(client('c-kept', otherTeamId));
    expect(await open.store.countValid(otherTeamId, T0)).toBe(2);
    await open.store.revoke('c-revoke', T0 + 10);
    await open.store.revoke('c-revoke', T0 + 20);
    expect((await open.store.findById('c-revoke'))?.revokedAt).toBe(T0 + 10);
    expect(await open.store.countValid(otherTeamId, T0 + 30)).toBe(1);
  });

  it('a row inserted by hand the runbook way (client_id, client_secret_hash, team_id) reads with defaults', async () => {
    await open.db!('o_auth_clients').insert({
      client_id: 'c-by-hand',
      client_secret_hash: '$2y$10$fromhtpasswd ',
      team_id: teamId,
    });
    const found = await open.store.findById('c-by-hand');
    expect(found).toMatchObject<Partial<ClientRecord>>({
      clientId: 'c-by-hand',
      kind: 'service_account',
      teamId,
      secretHash: '$2y$10$fromhtpasswd',
      publicKeyPem: null,
      publicKeys: [],
      redirectUris: [],
      environment: 'prod',
      scopes: null,
      revokedAt: null,
      expiresAt: null,
      usageCount: 0,
      keyDigest: null,
      credits: null,
    });
    expect((await open.store.findManyById(['c-by-hand']))[0]?.clientId).toBe('c-by-hand');
  });

  it("listByTeam pages a team's clients, newest first, and never another team's", async () => {
    const ids = ['c-list-1', 'c-list-2', 'c-list-3'];
    const teams = createSqlTeamStore(open.db!);
    const listed = (await teams.createTeam('listed', 'free')).id;
    for (const [i, id] of ids.entries()) await open.store.insert(client(id, listed, { createdAt: T0 + i }));
    const first = await open.store.listByTeam(listed, { limit: 2, offset: 0 });
    const second = await open.store.listByTeam(listed, { limit: 2, offset: 2 });
    expect(first.total).toBe(3);
    expect(first.clients.map((c) => c.clientId)).toEqual(['c-list-3', 'c-list-2']);
    expect(second.clients.map((c) => c.clientId)).toEqual(['c-list-1']);
  });
});
