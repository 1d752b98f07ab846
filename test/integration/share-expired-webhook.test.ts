import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const OPERATOR = 'operator-token-for-the-share-expired-webhook-0123';

/**
 * Issue 26 item 4: a one-time link that expires unopened fires `share_link.expired`, written to
 * the outbox in the settle's transaction, once, even with two keyport processes sweeping at once.
 */
describe.each(DATABASES)('the share_link.expired webhook on $name', (database) => {
  let server: TestServer;
  let other: TestServer;
  let drop: () => Promise<void>;

  const api = async (on: TestServer, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${on.url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const settings = { admin_token: OPERATOR, webhook_allow_private_addresses: true, webhook_poll_ms: 20 };
    server = await startServer(created.url, settings);
    // A second keyport on the same database and KEYS_DIR: both sweep, both deliver.
    other = await startServer(created.url, { ...settings, keys_dir: server.config.keysDir });
  });
  afterAll(async () => {
    await other?.close();
    await server?.close();
    await drop?.();
  });

  it('links expiring unopened: one signed share_link.expired each, no secret, however many sweeps race', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const team = (await server.keyport.teamService.createTeam({ name: 'Shared', plan: 'pro' })).id;
      const registered = await api(server, 'POST', `/teams/${team}/webhooks`, {
        url: receiver.url,
        events: ['share_link.expired', 'key.revoked'],
      });
      expect(registered.status).toBe(201);
      receiver.state.secret = registered.body.secret;
      const endpointId = registered.body.id as string;

      const newKey = async (name: string, revokeIfUnopened: boolean) => {
        const made = await api(server, 'POST', `/teams/${team}/clients`, {
          kind: 'service_account',
          name,
          share: { ttl_seconds: 3600, revoke_if_unopened: revokeIfUnopened },
        });
        expect(made.status).toBe(201);
        const url = made.body.share_url as string;
        return { clientId: made.body.client_id as string, url, linkId: url.split('#')[0]!.split('/s/')[1]! };
      };
      const revoking = await newKey('unopened-revoking', true);
      const keeping = await newKey('unopened-keeping', false);
      const opened = await newKey('opened', true);
      const reveal = await fetch(`${opened.url.split('#')[0]!}/reveal`, {
        method: 'POST',
        headers: { 'x-keyport-reveal': '1' },
      });
      expect(reveal.status).toBe(200);

      // Their hour is made to have passed; then four sweeps race for them, two in each process. On
      // SQLite the four run in one process: better-sqlite3 waits out a lock synchronously, so two
      // connections in one Node thread would wait on each other (separate processes do not); its
      // one connection still lets the four sweeps read the same due links and race to settle them.
      const passedS = Math.floor(Date.now() / 1000) - 1;
      await server.keyport
        .db('share_links')
        .whereIn('client_id', [revoking.clientId, keeping.clientId, opened.clientId])
        .update({ expires_at: passedS });
      const second = database.name === 'sqlite' ? server : other;
      const sweeps = await Promise.all([server, second, server, second].map((on) => on.keyport.settleExpiredShares()));
      // Sweeps that saw the three links due raced: the conditional settle, not an empty list, kept it to one.
      expect(sweeps.filter((due) => due === 3).length).toBeGreaterThanOrEqual(2);

      // Written with the settle: exactly one outbox row per unopened link, none for the opened one.
      const rows = await server.keyport.db('webhook_deliveries').where({ endpoint_id: endpointId }).orderBy('id');
      expect(rows.map((r) => r.event_type).sort()).toEqual(['key.revoked', 'share_link.expired', 'share_link.expired']);
      const links = await server.keyport
        .db('share_links')
        .whereIn('client_id', [revoking.clientId, keeping.clientId, opened.clientId]);
      expect(links.every((l) => l.settled_at !== null && l.ciphertext === null)).toBe(true);
      const revokedAt = async (clientId: string) =>
        (await server.keyport.db('o_auth_clients').where({ client_id: clientId }).first()).revoked_at;
      expect(await revokedAt(revoking.clientId)).not.toBeNull();
      expect(await revokedAt(keeping.clientId)).toBeNull();

      await receiver.until((r) => r.length >= 3);
      const expired = receiver.received.filter((r) => r.body.type === 'share_link.expired');
      expect(expired).toHaveLength(2);
      const byClient = new Map(expired.map((r) => [r.body.data.client_id, r]));
      expect(byClient.get(revoking.clientId)!.body.data).toEqual({
        team_id: team,
        client_id: revoking.clientId,
        name: 'unopened-revoking',
        environment: 'prod',
        link_id: revoking.linkId,
        expires_at: new Date(passedS * 1000).toISOString(),
        key_revoked: true,
      });
      expect(byClient.get(keeping.clientId)!.body.data).toMatchObject({
        client_id: keeping.clientId,
        link_id: keeping.linkId,
        key_revoked: false,
      });
      // Never the secret's key (the URL's fragment) nor anything it decrypts.
      for (const { raw } of expired) {
        expect(raw).not.toContain(revoking.url.split('#')[1]!);
        expect(raw).not.toContain(keeping.url.split('#')[1]!);
        expect(raw).not.toContain('/s/');
      }
      expect(receiver.refused).toEqual([]);

      // Another pass later finds nothing to tell.
      expect(await server.keyport.settleExpiredShares()).toBe(0);
      expect(await second.keyport.settleExpiredShares()).toBe(0);
      expect(await server.keyport.db('webhook_deliveries').where({ endpoint_id: endpointId })).toHaveLength(3);
    } finally {
      await receiver.close();
    }
  });
});
