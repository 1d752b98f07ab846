import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { actionOf, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';

/** The consent page's two forms: Allow posts to …/confirm, Deny to …/abort. */
const formOf = (page: string, button: 'approve' | 'deny') =>
  new RegExp(`action="([^"]+/${button === 'approve' ? 'confirm' : 'abort'})"`).exec(page)?.[1] ?? 'missing';

/** The app sign-in and consent forms refuse a request that did not come from their own page. */
describe.each(DATABASES)('app sign-in and consent CSRF on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let appId: string;
  const email = 'dev@acme.test';
  const password = 'Correct-Horse-9';

  const authorizeUrl = () => {
    const url = new URL('/auth', server.url);
    const params = {
      client_id: appId,
      response_type: 'code',
      redirect_uri: OOB,
      scope: 'api:read',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  };

  /** A browser signed in, on the consent page of its own interaction. */
  async function atConsent() {
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl());
    const consent = await browser.follow(actionOf(login.text), { form: { csrf: csrfOf(login.text), email, password } });
    expect(consent.text).toContain('id="approve"');
    return { browser, consent: consent.text };
  }

  const grants = async () =>
    Number((await server.keyport.db('oidc_payloads').where({ type: 'Grant' }).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await server.keyport.teamService.addPerson({ teamId, email, password, role: 'member' });
    appId = (await server.keyport.clientService.createApp({ teamId, name: 'Reports' })).client.client_id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it.each([
    ['approve', 'without a token', undefined],
    ['approve', 'with a wrong token', 'forged'],
    ['deny', 'without a token', undefined],
    ['deny', 'with a wrong token', 'forged'],
  ])('%s %s answers 403; no grant and no code', async (button, _how, csrf) => {
    const { browser, consent } = await atConsent();
    const before = await grants();
    const res = await browser.request(formOf(consent, button as 'approve' | 'deny'), {
      form: csrf === undefined ? {} : { csrf },
    });
    expect(res.status).toBe(403);
    expect(codeOf(res.text)).toBeUndefined();
    expect(await grants()).toBe(before);
    // The page's own token still works afterwards: the refusal spent nothing.
    const done = await browser.follow(formOf(consent, 'approve'), { form: { csrf: csrfOf(consent) } });
    expect(codeOf(done.text)).toEqual(expect.any(String));
  });

  it("another interaction's token is refused: a token is bound to its interaction", async () => {
    const mine = await atConsent();
    const theirs = await atConsent();
    const res = await mine.browser.request(formOf(mine.consent, 'approve'), { form: { csrf: csrfOf(theirs.consent) } });
    expect(res.status).toBe(403);
  });

  it("the sign-in form refuses another interaction's token", async () => {
    const browser = new Browser(server.url);
    const login = await browser.follow(authorizeUrl());
    const other = await new Browser(server.url).follow(authorizeUrl());
    const res = await browser.request(actionOf(login.text), { form: { csrf: csrfOf(other.text), email, password } });
    expect(res.status).toBe(403);
  });
});
