import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard, type KeyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { pushPassedTimes } from '../../src/jobs/expiry-pushes.js';

/**
 * Issue 23 item 13: the moment a key's expires_at passes, or a rotation's
 * grace period ends (the old secret stops working), is pushed over
 * /keys/events like any other change, once, whichever processes run the job.
 */
describe.each(DATABASES)('time-based changes pushed to guards, on $name', (database) => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  let guard: KeyportGuard;
  /** Each change the guard heard: client_id and when (ms). */
  const heard: Array<{ id: string; atMs: number }> = [];
  const waiters: Array<() => void> = [];

  /** Resolves when the guard hears a change to `id` that keyport pushed at or after `afterMs`. */
  const changeHeard = (id: string, afterMs: number) =>
    new Promise<number>((resolve) => {
      const check = () => {
        const found = heard.find((h) => h.id === id && h.atMs >= afterMs);
        if (found) resolve(found.atMs);
        else waiters.push(check);
      };
      check();
    });

  const newKey = async () => {
    const created = await a.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  /** How many key_events rows name `clientId`. */
  const events = async (clientId: string) =>
    (await a.keyport.db('key_events').where({ client_id: clientId }).select('id')).length;

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const settings = { plans: { pro: { api_access: true, max_keys: 100 } } };
    a = await startServer(created.url, settings);
    b = await startServer(created.url, { ...settings, keys_dir: a.config.keysDir });
    teamId = (await a.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    const rs = await a.keyport.clientService.createResourceServer({ name: 'api' });
    guard = keyportGuard({
      issuer: a.url,
      clientId: rs.client.client_id,
      clientSecret: rs.clientSecret!,
      onChange: (id: string) => {
        heard.push({ id, atMs: Date.now() });
        for (const wake of waiters.splice(0)) wake();
      },
    });
  });
  afterAll(async () => {
    guard?.close();
    await b?.close();
    await a?.close();
    await drop?.();
  });

  it("a key's expires_at passing is pushed to the guard, which refuses the key at once", async () => {
    const key = await newKey();
    const expiresAtS = Math.floor(Date.now() / 1000) + 3;
    await a.keyport.db('o_auth_clients').where({ client_id: key.id }).update({ expires_at: expiresAtS });
    expect((await guard.verify(key.secret)).status).toBe(200);

    const atMs = await changeHeard(key.id, Date.now());
    expect(atMs).toBeGreaterThanOrEqual(expiresAtS * 1000);
    expect((await guard.verify(key.secret)).status).toBe(401);
    expect(await events(key.id)).toBe(1);
  });

  it('the end of a rotation grace period is pushed; the old secret is refused at once, the new one works', async () => {
    const key = await newKey();
    expect((await guard.verify(key.secret)).status).toBe(200);
    const rotated = await a.keyport.clientService.regenerateSecret(key.id, { gracePeriodSeconds: 3 });
    const graceEndsMs =
      Number((await a.keyport.db('o_auth_clients').where({ client_id: key.id }).first()).previous_secret_expires_at) *
      1000;
    expect((await guard.verify(key.secret)).status).toBe(200);

    // The rotation itself is one change; the grace period's end is another, heard once it passed.
    const atMs = await changeHeard(key.id, graceEndsMs);
    expect(atMs).toBeGreaterThanOrEqual(graceEndsMs);
    expect((await guard.verify(key.secret)).status).toBe(401);
    expect((await guard.verify(rotated.clientSecret!)).status).toBe(200);
    expect(await events(key.id)).toBe(2);
  });

  it('two processes pushing the same passed moment at once write one change', async () => {
    const key = await newKey();
    const expiresAtS = Math.floor(Date.now() / 1000) - 1;
    await a.keyport.db('o_auth_clients').where({ client_id: key.id }).update({ expires_at: expiresAtS });
    const fromS = expiresAtS - 10;
    const runs = await Promise.all([
      pushPassedTimes(a.keyport.passedTimes, { fromS, clock: a.keyport.clock }),
      pushPassedTimes(b.keyport.passedTimes, { fromS, clock: b.keyport.clock }),
      pushPassedTimes(a.keyport.passedTimes, { fromS, clock: a.keyport.clock }),
    ]);
    expect(await events(key.id)).toBe(1);
    // The pushes the runs report: one in all, for this key (the processes' own jobs may have pushed it already).
    expect(runs.reduce((n, pushed) => n + pushed.filter((p) => p.clientId === key.id).length, 0)).toBeLessThanOrEqual(
      1,
    );
    // A later run pushes nothing again.
    const again = await pushPassedTimes(b.keyport.passedTimes, { fromS, clock: b.keyport.clock });
    expect(again.filter((p) => p.clientId === key.id)).toEqual([]);
    expect(await events(key.id)).toBe(1);
  });
});
