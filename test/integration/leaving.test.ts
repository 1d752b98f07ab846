import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { authorizeThroughPages, Browser, codeOf, csrfOf, OOB, pkce } from '../helpers/auth-flow.js';
import { runCli } from '../helpers/cli.js';

/** Issue 23 item 12: a person removed from the team, or a resource server revoked, loses its access at once. */
describe.each(DATABASES)('leaving means leaving on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let teamId: number;
  let app: { id: string; secret: string };
  let rs: { id: string; secret: string };
  const password = 'Leaving-Pass-1';

  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return (await res.json()) as { code: string };
  };
  /** A person's tokens through the sign-in and consent pages, and a dashboard session. */
  async function signedIn(email: string) {
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    const params = { client_id: app.id, response_type: 'code', redirect_uri: OOB, scope: 'api:read offline_access' };
    for (const [k, v] of Object.entries({ ...params, code_challenge: challenge, code_challenge_method: 'S256' }))
      url.searchParams.set(k, v);
    const { done } = await authorizeThroughPages(new Browser(server.url), url.toString(), email, password);
    const tokens = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code: codeOf(done.text)!, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.id, app.secret) },
    );
    expect(tokens.status).toBe(200);
    const dashboard = new Browser(server.url);
    const form = await dashboard.request('/dashboard/signin');
    const signIn = await dashboard.request('/dashboard/signin', { form: { csrf: csrfOf(form.text), email, password } });
    expect(signIn.status).toBe(303);
    return {
      access: tokens.body.access_token as string,
      refresh: tokens.body.refresh_token as string,
      dashboard,
    };
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    env = { PATH: process.env.PATH, DATABASE_URL: created.url, KEYS_DIR: server.config.keysDir, ISSUER: server.url };
    const { teamService, clientService } = server.keyport;
    teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await teamService.addPerson({ teamId, email: 'leaver@acme.test', password, role: 'admin' });
    await teamService.addPerson({ teamId, email: 'stayer@acme.test', password, role: 'member' });
    // The team keeps an admin when the leaver goes (the last admin stays one: issue 24 item 8).
    await teamService.addPerson({ teamId, email: 'keeper@acme.test', password, role: 'admin' });
    const made = await clientService.createApp({ teamId, name: 'Reports' });
    app = { id: made.client.client_id, secret: made.clientSecret! };
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('userremove ends the person’s access token, refresh token and dashboard session at once; others keep theirs', async () => {
    const leaver = await signedIn('leaver@acme.test');
    const stayer = await signedIn('stayer@acme.test');
    expect((await introspect(leaver.access)).body).toMatchObject({ active: true });
    expect(await verify(leaver.access)).toMatchObject({ code: 'VALID' });

    const removed = await runCli(env, 'userremove', '-team', String(teamId), '-email', 'leaver@acme.test', '-json');
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ team_id: teamId, email: 'leaver@acme.test', removed: true });

    expect((await introspect(leaver.access)).body).toEqual({ active: false });
    expect((await verify(leaver.access)).code).not.toBe('VALID');
    const refreshed = await postForm(
      `${server.url}/token`,
      { grant_type: 'refresh_token', refresh_token: leaver.refresh },
      { authorization: basic(app.id, app.secret) },
    );
    expect(refreshed.body).toMatchObject({ error: 'invalid_grant' });
    expect((await leaver.dashboard.request('/dashboard/keys')).headers.get('location')).toBe('/dashboard/signin');
    const sessions = await server.keyport.db('dashboard_sessions').where({ team_id: teamId });
    expect(sessions).toHaveLength(1);

    expect((await introspect(stayer.access)).body).toMatchObject({ active: true });
    expect(await verify(stayer.access)).toMatchObject({ code: 'VALID' });
    expect((await stayer.dashboard.request('/dashboard/keys')).status).toBe(200);

    const again = await runCli(env, 'userremove', '-team', String(teamId), '-email', 'leaver@acme.test');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not a member/);
  });

  /** Opens /keys/events as `caller`; resolves when the stream ends (or after 10 s, with ended false). */
  function openStream(caller: { id: string; secret: string }) {
    return new Promise<{ res: IncomingMessage; ended: Promise<boolean>; closed: () => boolean }>((resolve, reject) => {
      const req = request(`${server.url}/keys/events`, { headers: { authorization: basic(caller.id, caller.secret) } });
      req.on('response', (res) => {
        let closed = false;
        const ended = new Promise<boolean>((done) => {
          const bound = setTimeout(() => {
            req.destroy();
            done(false);
          }, 10_000);
          res.resume();
          res.on('close', () => {
            closed = true;
            clearTimeout(bound);
            done(true);
          });
        });
        resolve({ res, ended, closed: () => closed });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it.each(['revoked', 'rotated'] as const)(
    'a %s resource server’s open /keys/events streams end at once',
    async (change) => {
      const made = await server.keyport.clientService.createResourceServer({ name: `streaming ${change}` });
      const caller = { id: made.client.client_id, secret: made.clientSecret! };
      const other = await openStream(rs);
      const stream = await openStream(caller);
      expect(stream.res.statusCode).toBe(200);
      if (change === 'revoked') await server.keyport.clientService.revoke(caller.id);
      else await server.keyport.clientService.regenerateSecret(caller.id, {});
      expect(await stream.ended).toBe(true);
      // Another resource server's stream goes on.
      expect(other.closed()).toBe(false);
      other.res.destroy();
      expect(await other.ended).toBe(true);
    },
  );
});
