import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRecord } from '../../src/clients/client.js';
import type { ClientStore, NewClient } from '../../src/clients/store.js';
import { createSqlClientStore } from '../../src/persistence/sql/client-store.js';
import { createSqlTeamStore } from '../../src/persistence/sql/team-store.js';
import { storeTargets, type OpenStore } from './targets.js';
import { manualClock } from '../../src/clock.js';
import { keyDigest } from '../../src/clients/secrets.js';
import { createKnexUnitOfWork } from '../../src/persistence/sql/unit-of-work.js';
import type { TeamStore } from '../../src/teams/store.js';
import type { UnitOfWork } from '../../src/unit-of-work.js';

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

interface UnitStores {
  readonly clients: ClientStore;
  readonly teams: TeamStore;
  readonly unitOfWork: UnitOfWork;
}

const AT = 1_900_000_000; // epoch seconds, a fixed moment
const manual = manualClock(AT * 1000);
const UNIT_TARGETS = storeTargets<UnitStores>(
  'clients',
  {
    sql: (db, c) => ({
      clients: createSqlClientStore(db, c),
      teams: createSqlTeamStore(db, c),
      unitOfWork: createKnexUnitOfWork(db),
    }),
  },
  manual,
);

let n = 0;
const aClient = (over: Partial<NewClient> = {}): NewClient => ({
  clientId: `client-${++n}`,
  kind: 'service_account',
  name: `key ${n}`,
  teamId: null,
  userId: null,
  secretHash: '$2b$10$abcdefghijklmnopqrstuuOzm1V9HEZ2n3rJKSdL0h7m0mWkJ5Uy',
  publicKeyPem: null,
  redirectUris: [],
  environment: 'prod',
  scopes: ['api:read'],
  secretHint: 'kp_…abcd',
  createdAt: AT,
  expiresAt: null,
  ...over,
});

describe.each(UNIT_TARGETS)('client store contract on $name: units of work and the clock', (target) => {
  let open: OpenStore<UnitStores>;
  let clients: ClientStore;
  let teamId: number;
  beforeAll(async () => {
    open = await target.open();
    clients = open.store.clients;
    teamId = (await open.store.teams.createTeam('Contract', 'pro')).id;
  });
  afterAll(async () => open?.close());

  it('inserts and finds by id (byte for byte), with the team plan joined; unknown ids are undefined', async () => {
    const made = aClient({ teamId, redirectUris: ['https://a.example/cb', 'https://b.example/cb'] });
    await clients.insert(made);
    expect(await clients.findById(made.clientId)).toMatchObject({
      clientId: made.clientId,
      kind: 'service_account',
      name: made.name,
      teamId,
      scopes: ['api:read'],
      redirectUris: ['https://a.example/cb', 'https://b.example/cb'],
      createdAt: AT,
      revokedAt: null,
      usageCount: 0,
      teamPlan: 'pro',
    });
    expect(await clients.findById('no-such-client')).toBeUndefined();
    expect(await clients.findById(`${made.clientId} `)).toBeUndefined();
  });

  it('findManyById answers in the order asked, undefined where unknown, repeats included', async () => {
    const a = aClient();
    const b = aClient();
    await clients.insert(a);
    await clients.insert(b);
    const found = await clients.findManyById([b.clientId, 'missing', a.clientId, b.clientId]);
    expect(found.map((c) => c?.clientId)).toEqual([b.clientId, undefined, a.clientId, b.clientId]);
  });

  it('refuses a second client with the same id', async () => {
    const made = aClient();
    await clients.insert(made);
    await expect(clients.insert({ ...made, name: 'again' })).rejects.toThrow();
    expect((await clients.findById(made.clientId))?.name).toBe(made.name);
  });

  it('updates only what is named; false for an unknown client', async () => {
    const made = aClient({ credits: { remaining: 5, refill: null } });
    await clients.insert(made);
    expect(await clients.update(made.clientId, { name: 'renamed', scopes: ['api:write', 'api:read'] })).toBe(true);
    expect(await clients.findById(made.clientId)).toMatchObject({
      name: 'renamed',
      scopes: ['api:write', 'api:read'],
      secretHint: made.secretHint,
      credits: { remaining: 5, refill: null },
    });
    expect(await clients.update('no-such-client', { name: 'x' })).toBe(false);
  });

  it('finds by the digest of the current secret, and of the previous one only while its grace lasts (by the manual)', async () => {
    const current = keyDigest('kp_current_secret');
    const previous = keyDigest('kp_previous_secret');
    const made = aClient({ keyDigest: current });
    await clients.insert(made);
    await clients.update(made.clientId, {
      previousKeyDigest: previous,
      previousSecretHash: '$2b$10$previous',
      previousSecretExpiresAt: AT + 60,
    });
    manual.set(AT * 1000);
    const [byCurrent, byPrevious, unknown] = await clients.findByKeyDigest([current, previous, keyDigest('nope')]);
    expect(byCurrent?.clientId).toBe(made.clientId);
    expect(byPrevious?.clientId).toBe(made.clientId);
    expect(unknown).toBeUndefined();
    manual.set((AT + 61) * 1000);
    expect(await clients.findByKeyDigest([previous])).toEqual([undefined]);
    expect((await clients.findByKeyDigest([current]))[0]?.clientId).toBe(made.clientId);
    manual.set(AT * 1000);
  });

  it('revoke stamps revoked_at once, and countValid leaves out revoked and expired keys (by the time asked)', async () => {
    const team = (await open.store.teams.createTeam('Counted', 'pro')).id;
    const live = aClient({ teamId: team });
    const expiring = aClient({ teamId: team, expiresAt: AT + 100 });
    const revoked = aClient({ teamId: team });
    for (const c of [live, expiring, revoked]) await clients.insert(c);
    await clients.revoke(revoked.clientId, AT + 5);
    await clients.revoke(revoked.clientId, AT + 9);
    expect((await clients.findById(revoked.clientId))?.revokedAt).toBe(AT + 5);
    expect(await clients.countValid(team, AT)).toBe(2);
    expect(await clients.countValid(team, AT + 100)).toBe(1);
  });

  it('lists a team newest first with its total, a page at a time', async () => {
    const team = (await open.store.teams.createTeam('Listed', 'pro')).id;
    for (let i = 0; i < 3; i++) await clients.insert(aClient({ teamId: team, createdAt: AT + i }));
    const first = await clients.listByTeam(team, { limit: 2, offset: 0 });
    expect(first.total).toBe(3);
    expect(first.clients.map((c) => c.createdAt)).toEqual([AT + 2, AT + 1]);
    const rest = await clients.listByTeam(team, { limit: 2, offset: 2 });
    expect(rest.clients.map((c) => c.createdAt)).toEqual([AT]);
    expect(await clients.listByTeam(999_999, { limit: 2, offset: 0 })).toEqual({ total: 0, clients: [] });
  });

  it('spends credits only while enough are left, refilling once a new day begins (by the manual)', async () => {
    const day = 86_400;
    const start = Math.floor(AT / day) * day;
    manual.set(start * 1000);
    const made = aClient({ credits: { remaining: 3, refill: { interval: 'day', amount: 10 } } });
    await clients.insert(made);
    expect(await clients.spendCredits(made.clientId, 2, start * 1000)).toBe(1);
    expect(await clients.spendCredits(made.clientId, 2, start * 1000)).toBeUndefined();
    expect(await clients.spendCredits(made.clientId, 4, (start + day) * 1000)).toBe(6);
    expect(await clients.spendCredits('no-such-client', 1, start * 1000)).toBeUndefined();
    manual.set(AT * 1000);
  });

  it('a unit of work that fails leaves nothing: neither the insert nor the update in it', async () => {
    const kept = aClient();
    await clients.insert(kept);
    const lost = aClient();
    await expect(
      open.store.unitOfWork.run(async (tx) => {
        await clients.insert(lost, tx);
        await clients.update(kept.clientId, { name: 'changed inside' }, tx);
        await clients.revoke(kept.clientId, AT, tx);
        throw new Error('the change after these fails');
      }),
    ).rejects.toThrow('the change after these fails');
    expect(await clients.findById(lost.clientId)).toBeUndefined();
    expect(await clients.findById(kept.clientId)).toMatchObject({ name: kept.name, revokedAt: null });
  });

  it('lockTeamKeys holds the team inside a unit of work that commits what follows', async () => {
    const team = (await open.store.teams.createTeam('Locked', 'pro')).id;
    const made = aClient({ teamId: team });
    await open.store.unitOfWork.run(async (tx) => {
      await clients.lockTeamKeys(team, tx);
      expect(await clients.countValid(team, AT, tx)).toBe(0);
      await clients.insert(made, tx);
    });
    expect(await clients.countValid(team, AT)).toBe(1);
  });
});
