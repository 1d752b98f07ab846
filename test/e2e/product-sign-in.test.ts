import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startProductProvider, type ProductProvider } from '../helpers/product-provider.js';
import { Browser as HttpBrowser } from '../helpers/auth-flow.js';

const CLIENT = { clientId: 'keyport-dashboard', clientSecret: 'product-client-secret-1' };

/**
 * Issue 26 item 1 as a person uses it: Chromium on keyport's sign-in page,
 * "Sign in with Acme Cloud", the product's real OpenID Connect provider, and
 * back in the team's key page with the role the product's claim gives.
 */
describe.each(DATABASES)('signing in to the dashboard with the product’s OpenID provider on $name', (database) => {
  let server: TestServer;
  let product: ProductProvider;
  let browser: Browser;
  let drop: () => Promise<void>;
  let teamId: number;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    product = await startProductProvider({
      ...CLIENT,
      account: { sub: 'product-user-1', email: 'ada@product.test', team: 'acme-ext', role: 'admin' },
    });
    server = await startServer(created.url, {
      dashboard_oidc: {
        issuer: product.issuer,
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
        team_claim: 'team',
        role_claim: 'role',
        name: 'Acme Cloud',
      },
    });
    product.open(`${server.url}/dashboard/oidc/callback`);
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.externalTeams.setExternalId(teamId, 'acme-ext');
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await product?.close();
    await drop?.();
  });

  /** A fresh browser profile clicks "Sign in with Acme Cloud" and waits until it is back at keyport. */
  async function signInWithProduct() {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/signin`);
    await page.click('#product-sign-in');
    await page.waitForURL((url) => url.origin === server.url && !url.pathname.startsWith('/dashboard/signin'));
    await page.waitForLoadState('domcontentloaded');
    // The session cookie has path /dashboard: asked for a URL under it, or Chromium would not list it.
    const cookies = await context.cookies(`${server.url}/dashboard/keys`);
    return { page, sessionCookie: cookies.find((c) => c.name === 'kp_dashboard' && c.value) };
  }

  const membership = async () => {
    const user = await server.keyport.db('users').where({ email: 'ada@product.test' }).first();
    return user && { ...(await server.keyport.teams.findMembership(teamId, user.id)), hash: user.password_hash };
  };

  it('a person signed in at the product lands in their team’s key page as admin, with no keyport password', async () => {
    product.account.role = 'admin';
    const { page, sessionCookie } = await signInWithProduct();
    expect(new URL(page.url()).pathname).toBe('/dashboard/keys');
    expect(sessionCookie).toBeDefined();
    expect(await page.textContent('.signout button')).toContain('ada@product.test');
    expect(await page.locator('#new-key').count()).toBe(1);
    expect(await membership()).toMatchObject({ teamId, role: 'admin', hash: null });
  });

  it('a role changed at the product takes effect at the next sign-in', async () => {
    product.account.role = 'member';
    const { page } = await signInWithProduct();
    expect(new URL(page.url()).pathname).toBe('/dashboard/keys');
    expect(await page.locator('#new-key').count()).toBe(0);
    expect(await membership()).toMatchObject({ role: 'member' });
    product.account.role = 'admin';
    const again = await signInWithProduct();
    expect(await again.page.locator('#new-key').count()).toBe(1);
    expect(await membership()).toMatchObject({ role: 'admin' });
    const changes = await server.keyport
      .db('audit_events')
      .where({ team_id: teamId, action: 'member.role.change' })
      .orderBy('id');
    expect(changes.map((r) => JSON.parse(r.details)).slice(-2)).toMatchObject([
      { from: 'admin', to: 'member', by: 'product_sign_in' },
      { from: 'member', to: 'admin', by: 'product_sign_in' },
    ]);
  });

  it('a person whose claims name no team keyport knows gets a clear page and no session cookie', async () => {
    product.account.team = 'no-such-team';
    try {
      const { page, sessionCookie } = await signInWithProduct();
      expect(await page.textContent('#message')).toMatch(/not linked to any team/);
      expect(sessionCookie).toBeUndefined();
    } finally {
      product.account.team = 'acme-ext';
    }
  });

  it('an unsigned ID token (alg none) is refused by openid-client: no session', async () => {
    product.forgery = 'unsigned';
    try {
      const { page, sessionCookie } = await signInWithProduct();
      expect(await page.textContent('#message')).toMatch(/did not confirm who you are/);
      expect(sessionCookie).toBeUndefined();
    } finally {
      product.forgery = 'none';
    }
  });

  it('an ID token from another issuer (signed with the product’s own key) is refused: no session', async () => {
    product.forgery = 'wrong_issuer';
    try {
      const { page, sessionCookie } = await signInWithProduct();
      expect(await page.textContent('#message')).toMatch(/did not confirm who you are/);
      expect(sessionCookie).toBeUndefined();
    } finally {
      product.forgery = 'none';
    }
  });

  it('a callback with no sign-in started here (no state cookie) is refused with 400', async () => {
    const res = await new HttpBrowser(server.url).request('/dashboard/oidc/callback?code=x&state=y');
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('kp_dashboard='))).toBe(false);
  });
});

describe('passwords can be turned off (dashboard_password_sign_in: false)', () => {
  it('the sign-in page offers only the product, a password POST is refused, a product that does not answer is 503', async () => {
    const { url } = await DATABASES[0]!.create();
    const server = await startServer(url, {
      dashboard_password_sign_in: false,
      dashboard_oidc: { issuer: 'http://127.0.0.2:9/', client_id: 'c', client_secret: 's', name: 'Acme Cloud' },
    });
    try {
      const { teamService } = server.keyport;
      const team = await teamService.createTeam({ name: 'Pw', plan: 'pro' });
      await teamService.addPerson({
        teamId: team.id,
        email: 'pw@product.test',
        password: 'Pw-Pass-12345',
        role: 'admin',
      });
      const browser = new HttpBrowser(server.url);
      const page = await browser.request('/dashboard/signin');
      expect(page.text).toContain('Sign in with Acme Cloud');
      expect(page.text).not.toContain('type="password"');
      const res = await browser.request('/dashboard/signin', {
        form: { csrf: '', email: 'pw@product.test', password: 'Pw-Pass-12345' },
      });
      expect(res.status).toBe(404);
      expect(res.headers.getSetCookie().some((c) => c.startsWith('kp_dashboard='))).toBe(false);
      // The product's provider does not answer (nothing listens on port 9): a page that says so, never a 500.
      const start = await browser.request('/dashboard/oidc/start');
      expect(start.status).toBe(503);
      expect(start.headers.get('retry-after')).toBeTruthy();
      expect(start.text).toMatch(/cannot reach Acme Cloud/);
    } finally {
      await server.close();
    }
  });
});
