import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Browser } from '../helpers/auth-flow.js';
import { manualClock } from '../../src/clock.js';

const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const MINUTE = 60_000;

/**
 * Issue 23 item 15 (c): a dashboard session ends after an absolute lifetime
 * whatever its activity; a person can sign out everywhere and change their
 * own password (current one required; the other sessions end).
 */
describe.each(DATABASES)('dashboard sessions and the account page on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;
  const clock = manualClock();
  const password = 'Account-Pass-1';

  async function signIn(email: string, pw = password) {
    const browser = new Browser(server.url);
    const form = await browser.request('/dashboard/signin');
    const res = await browser.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password: pw } });
    return { browser, res };
  }
  const person = async (email: string) => {
    await server.keyport.teamService.addPerson({ teamId, email, password, role: 'admin' });
    return email;
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { dashboard_session_max_seconds: 3600 }, { clock });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('a session older than dashboard_session_max_seconds is refused and sent to sign-in, however active', async () => {
    const { browser, res } = await signIn(await person('busy@acme.test'));
    expect(res.status).toBe(303);
    // Active every 20 minutes: never idle, yet the hour is the end.
    for (let minutes = 20; minutes < 60; minutes += 20) {
      clock.advance(20 * MINUTE);
      expect((await browser.request('/dashboard/keys')).status).toBe(200);
    }
    clock.advance(20 * MINUTE + 1000);
    const late = await browser.request('/dashboard/keys');
    expect(late.status).toBe(302);
    expect(late.headers.get('location')).toBe('/dashboard/signin');
    // Ended for good: it is not found again.
    expect((await browser.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await signIn('busy@acme.test')).res.status).toBe(303);
  });

  it("sign out everywhere ends every one of the person's sessions, and needs the form's CSRF token", async () => {
    const email = await person('everywhere@acme.test');
    const here = (await signIn(email)).browser;
    const there = (await signIn(email)).browser;
    const someoneElse = (await signIn(await person('other@acme.test'))).browser;
    const page = await here.request('/dashboard/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('action="/dashboard/account/signout-everywhere"');

    const forged = await here.request('/dashboard/account/signout-everywhere', { form: { csrf: 'forged' } });
    expect(forged.status).toBe(403);
    expect((await there.request('/dashboard/keys')).status).toBe(200);

    const done = await here.request('/dashboard/account/signout-everywhere', { form: { csrf: csrfOf(page.text) } });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/dashboard/signin');
    expect((await there.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await here.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await someoneElse.request('/dashboard/keys')).status).toBe(200);
  });

  it('a password change needs the current password: a wrong one is 400 and changes nothing; the right one works', async () => {
    const email = await person('changer@acme.test');
    const here = (await signIn(email)).browser;
    const there = (await signIn(email)).browser;
    const page = await here.request('/dashboard/account');
    const csrf = csrfOf(page.text);
    const newPassword = 'Brand-New-Pass-2';

    const wrong = await here.request('/dashboard/account/password', {
      form: { csrf, current_password: 'not-the-password', new_password: newPassword },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('current password');
    expect((await signIn(email, newPassword)).res.status).toBe(401);
    expect((await signIn(email)).res.status).toBe(303);
    expect((await there.request('/dashboard/keys')).status).toBe(200);

    const short = await here.request('/dashboard/account/password', {
      form: { csrf, current_password: password, new_password: 'short' },
    });
    expect(short.status).toBe(400);
    expect((await signIn(email)).res.status).toBe(303);

    const forged = await here.request('/dashboard/account/password', {
      form: { csrf: 'forged', current_password: password, new_password: newPassword },
    });
    expect(forged.status).toBe(403);

    const changed = await here.request('/dashboard/account/password', {
      form: { csrf, current_password: password, new_password: newPassword },
    });
    expect(changed.status).toBe(303);
    expect(changed.headers.get('location')).toBe('/dashboard/account?changed=1');
    expect((await here.request('/dashboard/account?changed=1')).text).toContain('Your password was changed');
    // This session goes on; the others are ended.
    expect((await here.request('/dashboard/keys')).status).toBe(200);
    expect((await there.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    expect((await signIn(email)).res.status).toBe(401);
    expect((await signIn(email, newPassword)).res.status).toBe(303);
    const audit = await server.keyport.db('audit_events').where({ action: 'person.password.change' });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(newPassword);
  });

  it('wrong current passwords are throttled like sign-in (429 with Retry-After)', async () => {
    const email = await person('guesser@acme.test');
    const here = (await signIn(email)).browser;
    const csrf = csrfOf((await here.request('/dashboard/account')).text);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12 && !statuses.includes(429); i++) {
      const res = await here.request('/dashboard/account/password', {
        form: { csrf, current_password: `guess-${i}-wrong`, new_password: 'Guessed-New-Pass-3' },
      });
      statuses.push(res.status);
      retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(new Set(statuses.filter((s) => s !== 429))).toEqual(new Set([400]));
  });
});
