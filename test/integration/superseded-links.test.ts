import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.js';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

const OPERATOR = 'o'.repeat(40);

/** Issue 23 item 10: a rotation ends the old secret's link, and only the current secret's link can revoke. */
describe.each(DATABASES)('superseded one-time links on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  const clock = manualClock();

  const admin = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}/api${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const revokedAt = async (clientId: string) =>
    (await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first('revoked_at')).revoked_at;
  /** Bounded wait until the sweep has handled every link expired by the manual clock. */
  const sweptUpTo = async (clientId: string) => {
    const now = Math.floor(clock.now() / 1000);
    for (let i = 0; i < 100; i++) {
      const [row] = await server.keyport
        .db('share_links')
        .where('expires_at', '<=', now)
        .whereNull('settled_at')
        .count({ n: '*' });
      if (Number(row?.n) === 0 && (await revokedAt(clientId)) !== null) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the sweep did not settle the expired links within 10 s');
  };
  const newKey = async (name: string, ttl: number) => {
    const made = await admin(`/teams/${teamId}/clients`, {
      kind: 'service_account',
      name,
      share: { ttl_seconds: ttl, revoke_if_unopened: true },
    });
    expect(made.status).toBe(201);
    return made.body as { client_id: string; share_url: string };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { admin_token: OPERATOR, expired_rows_sweep_seconds: 1 }, { clock });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a rotation ends the old link (410), its expiry revokes nothing; the current link expiring unopened revokes', async () => {
    const rotated = await newKey('rotated', 60);
    const again = await admin(`/teams/${teamId}/clients/${rotated.client_id}/secret`, {
      share: { ttl_seconds: 3600, revoke_if_unopened: true },
    });
    expect(again.status).toBe(200);
    const currentUrl = again.body.share_url as string;
    // The old link no longer reveals the old secret.
    expect((await fetch(rotated.share_url.split('#')[0]!)).status).toBe(410);
    const reveal = await fetch(`${rotated.share_url.split('#')[0]!}/reveal`, {
      method: 'POST',
      headers: { 'x-keyport-reveal': '1' },
    });
    expect(reveal.status).toBe(410);
    expect((await fetch(currentUrl.split('#')[0]!)).status).toBe(200);

    // A key of the same age whose only link expires unopened: revoked by the same sweep.
    const control = await newKey('control', 60);
    clock.advance(61_000);
    await sweptUpTo(control.client_id);
    expect(await revokedAt(rotated.client_id)).toBeNull();
    const view = await fetch(`${server.url}/api/teams/${teamId}/clients/${rotated.client_id}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(((await view.json()) as { is_valid: boolean }).is_valid).toBe(true);

    // The current secret's link expiring unopened does revoke.
    clock.advance(3600_000);
    await sweptUpTo(rotated.client_id);
    const events = await server.keyport
      .db('audit_events')
      .where({ client_id: rotated.client_id, action: 'client.revoke' });
    expect(events.map((e) => JSON.parse(e.details))).toEqual([{ reason: 'its one-time link expired unopened' }]);
  });

  it('a rotation without a new link also ends the old one; the new secret works after the old link’s expiry', async () => {
    const key = await newKey('rotated-plain', 60);
    const again = await admin(`/teams/${teamId}/clients/${key.client_id}/secret`, {});
    expect(again.status).toBe(200);
    const secret = again.body.client_secret as string;
    expect((await fetch(key.share_url.split('#')[0]!)).status).toBe(410);
    const listed = await fetch(`${server.url}/api/teams/${teamId}/clients/${key.client_id}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    expect(((await listed.json()) as { share: { state: string } }).share.state).toBe('superseded');
    const control = await newKey('control-2', 60);
    clock.advance(61_000);
    await sweptUpTo(control.client_id);
    expect(await revokedAt(key.client_id)).toBeNull();
    const token = await postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(key.client_id, secret) },
    );
    expect(token.status).toBe(200);
  });
});
