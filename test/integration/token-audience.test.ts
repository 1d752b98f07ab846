import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyportGuard } from '@keyport/guard';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';
import { authorizeThroughPages, Browser, codeOf, OOB, pkce } from '../helpers/auth-flow.js';

/**
 * Issue 23 item 9: tokens are for their audience. A token a person approved
 * for sign-in only (`openid profile`: for userinfo) is no API credential:
 * /keys/verify answers NOT_FOUND for it, introspection by a resource server
 * answers `{active:false}`, and the guard lets it nowhere. With an API scope
 * the same flow's token is VALID.
 */
describe.each(DATABASES)('tokens are for their audience on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let app: { id: string; secret: string };
  let rs: { id: string; secret: string };
  let api: Server;
  let apiUrl: string;
  const email = 'grace@acme.test';
  const password = 'Correct-Horse-9';

  /** The code + PKCE flow through the pages, then the code redeemed: the app's access token. */
  async function tokenFor(scope: string) {
    const { verifier, challenge } = pkce();
    const url = new URL('/auth', server.url);
    url.search = new URLSearchParams({
      client_id: app.id,
      response_type: 'code',
      redirect_uri: OOB,
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const { done } = await authorizeThroughPages(new Browser(server.url), url.toString(), email, password);
    const redeemed = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code: codeOf(done.text)!, redirect_uri: OOB, code_verifier: verifier },
      { authorization: basic(app.id, app.secret) },
    );
    expect(redeemed.status).toBe(200);
    return String(redeemed.body.access_token);
  }
  const verify = async (key: string) => {
    const res = await fetch(`${server.url}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.id, rs.secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const introspect = (token: string) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(rs.id, rs.secret) });
  const throughGuard = (token: string) => fetch(apiUrl, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    const { teamService, clientService } = server.keyport;
    const teamId = (await teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
    await teamService.addPerson({ teamId, email, password, role: 'member' });
    const made = await clientService.createApp({ teamId, name: 'Reports' });
    app = { id: made.client.client_id, secret: made.clientSecret! };
    const r = await clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
    // The customer's API behind the guard's default route.
    const guard = keyportGuard({ issuer: server.url, clientId: rs.id, clientSecret: rs.secret, cache: false });
    const route = guard.express();
    api = createServer((req, res) =>
      route(req as never, res as never, () => res.end(JSON.stringify((req as { keyport?: unknown }).keyport))),
    );
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}/projects`;
  });
  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    await server?.close();
    await drop?.();
  });

  it('a token for sign-in only (openid profile) is not found at /keys/verify and inactive to a resource server', async () => {
    const token = await tokenFor('openid profile');
    // It is the person's token for userinfo…
    const userinfo = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(userinfo.status).toBe(200);
    // …and no credential for an API.
    expect(await verify(token)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect((await introspect(token)).body).toEqual({ active: false });
  });

  it("guard.express()'s default route refuses a token for sign-in only (401), and lets an API token in", async () => {
    const signInOnly = await throughGuard(await tokenFor('openid profile'));
    expect(signInOnly.status).toBe(401);
    expect(((await signInOnly.json()) as { error: string }).error).toBe('invalid_api_key');
    const forApi = await throughGuard(await tokenFor('openid api:read'));
    expect(forApi.status).toBe(200);
    expect(((await forApi.json()) as { scopes: string[] }).scopes).toContain('api:read');
  });

  it("guard.express()'s default route needs at least one API scope: a key with none is refused (403)", async () => {
    const teamId = (await server.keyport.teamService.createTeam({ name: 'Bare', plan: 'pro' })).id;
    const bare = await server.keyport.clientService.createServiceAccount({ teamId, scopes: [] });
    expect(await verify(bare.clientSecret!)).toMatchObject({ code: 'VALID', scopes: [] });
    const refused = await throughGuard(bare.clientSecret!);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('insufficient_permissions');
  });

  it('the same flow with an API scope gives a token that is VALID and active', async () => {
    const token = await tokenFor('openid profile api:read');
    const answer = await verify(token);
    expect(answer.code).toBe('VALID');
    expect(answer.scopes).toEqual(expect.arrayContaining(['api:read']));
    const introspected = await introspect(token);
    expect(introspected.body.active).toBe(true);
    expect(String(introspected.body.scope).split(' ')).toContain('api:read');
  });
});
