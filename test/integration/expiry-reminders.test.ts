import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, type Clock } from '../../src/clock.js';
import type { KeyExpiringEvent, KeyExpiringSubscriber } from '../../src/events/key-expiring.js';
import { Browser } from '../helpers/auth-flow.js';
import { freePort } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.js';

const DAY_MS = 86_400_000;
const password = 'Reminder-Pass-1';
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** Issue 26 item 5: team admins are mailed 30, 7 and 1 days before a key expires, each reminder once. */
describe.each(DATABASES)('expiry reminders on $name', (database) => {
  let url: string;
  let drop: () => Promise<void>;
  let smtp: TestSmtpServer;
  const servers: TestServer[] = [];

  const start = async (
    smtpUrl: string | undefined,
    clock: Clock,
    { captureLog = false, onKeyExpiring }: { captureLog?: boolean; onKeyExpiring?: KeyExpiringSubscriber[] } = {},
  ) => {
    const server = await startServer(
      url,
      { smtp_url: smtpUrl, mail_from: 'keyport <noreply@keyport.test>', log_level: captureLog ? 'info' : 'silent' },
      { clock, captureLog, onKeyExpiring },
    );
    servers.push(server);
    return server;
  };

  /** A team with two admins and a member, and a key of theirs. */
  async function seed(server: TestServer, name: string, { expiresInDays }: { expiresInDays?: number } = {}) {
    const { teamService, clientService } = server.keyport;
    const team = await teamService.createTeam({ name, plan: 'pro' });
    const slug = name.toLowerCase();
    for (const [who, role] of [
      ['ada', 'admin'],
      ['bob', 'admin'],
      ['cy', 'member'],
    ] as const) {
      await teamService.addPerson({ teamId: team.id, email: `${who}@${slug}.test`, password, role });
    }
    const created = await clientService.createServiceAccount({
      teamId: team.id,
      name: `${slug}-billing`,
      expiresInDays,
    });
    return { team, clientId: created.client.client_id, secret: created.clientSecret! };
  }

  const mailsFor = (clientId: string) => smtp.mails.filter((m) => m.text.includes(clientId));

  beforeAll(async () => {
    const created = await database.create();
    url = created.url;
    drop = created.drop;
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await smtp?.close();
    await drop?.();
  });

  it('a key expiring in 7 days: one mail to each admin (not to members) naming the key, with no secret; a second run sends nothing', async () => {
    const clock = manualClock(Date.now());
    const server = await start(smtp.url, clock);
    const { clientId, secret } = await seed(server, 'Seven', { expiresInDays: 7 });

    const first = await server.keyport.reminders.run();
    expect(first.failed).toBe(0);
    const mails = mailsFor(clientId);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect([...mail!.to].sort()).toEqual(['ada@seven.test', 'bob@seven.test']);
    expect(mail!.from).toBe('noreply@keyport.test');
    expect(mail!.subject).toBe('API key "seven-billing" expires in 7 days');
    expect(mail!.text).toContain('Key:         seven-billing');
    expect(mail!.text).toContain(`Client id:   ${clientId}`);
    expect(mail!.text).toContain('Environment: prod');
    const expiresAt = new Date(Math.floor(clock.now() / 1000) * 1000 + 7 * DAY_MS).toISOString().replace('.000Z', 'Z');
    expect(mail!.text).toContain(`Expires at:  ${expiresAt}`);
    expect(mail!.text).toContain(`${server.url}/dashboard/keys/${clientId}`);
    expect(mail!.raw).not.toContain(secret);
    expect(mail!.raw).not.toContain(secret.slice(-8));
    expect(mail!.raw).not.toMatch(/_sk_/);

    await server.keyport.reminders.run();
    expect(mailsFor(clientId)).toHaveLength(1);
    const rows = await server.keyport.db('key_reminders').where({ client_id: clientId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'expires', threshold_days: 7 });
    expect(rows[0].sent_at).not.toBeNull();
    expect(rows[0].announced_at).not.toBeNull();
  });

  it('30, 7 and 1 days before: one reminder at each threshold as time passes, never repeated', async () => {
    const clock = manualClock(Date.now());
    const server = await start(smtp.url, clock);
    const { clientId } = await seed(server, 'Forty', { expiresInDays: 40 });
    const subjects = () => mailsFor(clientId).map((m) => m.subject);
    await server.keyport.reminders.run();
    expect(subjects()).toEqual([]);

    clock.advance(10.5 * DAY_MS); // 29.5 days left
    await server.keyport.reminders.run();
    await server.keyport.reminders.run();
    expect(subjects()).toEqual(['API key "forty-billing" expires in 30 days']);

    clock.advance(23 * DAY_MS); // 6.5 days left
    await server.keyport.reminders.run();
    clock.advance(6 * DAY_MS); // half a day left
    await server.keyport.reminders.run();
    await server.keyport.reminders.run();
    clock.advance(DAY_MS); // expired: nothing more
    await server.keyport.reminders.run();
    expect(subjects()).toEqual([
      'API key "forty-billing" expires in 30 days',
      'API key "forty-billing" expires in 7 days',
      'API key "forty-billing" expires within a day',
    ]);
  });

  it('SMTP down at first: nothing is lost; the reminder is sent by a later run, once', async () => {
    const clock = manualClock(Date.now());
    const port = await freePort();
    const server = await start(`smtp://127.0.0.1:${port}`, clock, { captureLog: true });
    const { clientId } = await seed(server, 'Down', { expiresInDays: 7 });
    const failed = await server.keyport.reminders.run();
    expect(failed).toMatchObject({ sent: 0, failed: 1 });
    const [row] = await server.keyport.db('key_reminders').where({ client_id: clientId });
    expect(row.sent_at).toBeNull();
    expect(server.logLines().some((l) => /sending an expiry reminder failed/.test(String(l.msg)))).toBe(true);

    const late = await startSmtpServer(port);
    try {
      clock.advance(10 * 60_000);
      expect(await server.keyport.reminders.run()).toMatchObject({ sent: 1, failed: 0 });
      await server.keyport.reminders.run();
      expect(late.mails.filter((m) => m.text.includes(clientId))).toHaveLength(1);
    } finally {
      await late.close();
    }
  });

  it('a rotation whose grace ends within a day: the admins are told the previous secret stops working', async () => {
    const clock = manualClock(Date.now());
    const server = await start(smtp.url, clock);
    const { clientId, secret } = await seed(server, 'Grace');
    const rotated = await server.keyport.clientService.regenerateSecret(clientId, { gracePeriodSeconds: 12 * 3600 });
    await server.keyport.reminders.run();
    await server.keyport.reminders.run();
    const mails = mailsFor(clientId);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('The previous secret of API key "grace-billing" stops working within a day');
    expect([...mails[0]!.to].sort()).toEqual(['ada@grace.test', 'bob@grace.test']);
    expect(mails[0]!.raw).not.toContain(secret);
    expect(mails[0]!.raw).not.toContain(rotated.clientSecret!);
  });

  it('the dashboard key list says "expires in N days" for keys within 30 days of expiry', async () => {
    const server = await start(smtp.url, manualClock(Date.now()));
    const soon = await seed(server, 'Badge', { expiresInDays: 7 });
    const later = await server.keyport.clientService.createServiceAccount({
      teamId: soon.team.id,
      name: 'badge-later',
      expiresInDays: 90,
    });
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const signedIn = await browser.request('/dashboard/signin', {
      form: { csrf: csrfOf(form.text), email: 'cy@badge.test', password },
    });
    expect(signedIn.status).toBe(303);
    const page = await browser.request('/dashboard/keys');
    expect(page.status).toBe(200);
    const row = (id: string) => new RegExp(`<tr data-client-id="${id}">.*?</tr>`).exec(page.text)?.[0] ?? '';
    expect(row(soon.clientId)).toContain('<span class="badge expiring">expires in 7 days</span>');
    expect(row(later.client.client_id)).not.toContain('expires in');
  });

  it('key.expiring is published once per reminder, in its transaction: a failing subscriber rolls it back and the next run publishes it, without smtp_url too', async () => {
    const clock = manualClock(Date.now());
    const seen: KeyExpiringEvent[] = [];
    let failNext = true;
    let target = '';
    const server = await start(undefined, clock, {
      captureLog: true,
      onKeyExpiring: [
        async (event) => {
          if (event.clientId !== target) return;
          if (failNext) {
            failNext = false;
            throw new Error('outbox unavailable');
          }
          seen.push(event);
        },
      ],
    });
    expect(server.logLines().some((l) => /smtp_url is not set/.test(String(l.msg)))).toBe(true);
    const { clientId, team } = await seed(server, 'Hook', { expiresInDays: 7 });
    target = clientId;
    await server.keyport.reminders.run();
    const [row] = await server.keyport.db('key_reminders').where({ client_id: clientId });
    expect(row.announced_at).toBeNull();
    expect(server.logLines().some((l) => /announcing key.expiring failed/.test(String(l.msg)))).toBe(true);
    await server.keyport.reminders.run();
    await server.keyport.reminders.run();
    expect(seen).toEqual([
      {
        type: 'key.expiring',
        clientId,
        teamId: team.id,
        reason: 'expires',
        thresholdDays: 7,
        expiresAt: Math.floor(clock.now() / 1000) + 7 * 86_400,
      },
    ]);
    expect(mailsFor(clientId)).toHaveLength(0);
  });
});
