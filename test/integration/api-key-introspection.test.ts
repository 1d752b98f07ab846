import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, startServer, type TestServer } from '../helpers/server.js';

/** RFC 7662 introspection of a raw API key: answered for a resource server or the key's own client, for nobody else. */
describe.each(DATABASES)('introspecting a raw API key on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let teamA: number;
  let teamB: number;
  let rs: { id: string; secret: string };

  const newKey = async (teamId: number) => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId, scopes: ['api:read'] });
    return { id: created.client.client_id, secret: created.clientSecret! };
  };
  const introspect = (token: string, caller: { id: string; secret: string }) =>
    postForm(`${server.url}/token/introspection`, { token }, { authorization: basic(caller.id, caller.secret) });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 100 } } });
    teamA = (await server.keyport.teamService.createTeam({ name: 'A', plan: 'pro' })).id;
    teamB = (await server.keyport.teamService.createTeam({ name: 'B', plan: 'pro' })).id;
    const r = await server.keyport.clientService.createResourceServer({ name: 'api' });
    rs = { id: r.client.client_id, secret: r.clientSecret! };
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("a service account cannot introspect another team's API key: {active:false}, nothing about it", async () => {
    const target = await newKey(teamA);
    const outsider = await newKey(teamB);
    const res = await introspect(target.secret, outsider);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });

  it('a service account cannot introspect another key of its own team: {active:false}', async () => {
    const target = await newKey(teamA);
    const colleague = await newKey(teamA);
    expect((await introspect(target.secret, colleague)).body).toEqual({ active: false });
  });

  it("an app cannot introspect a team's API key: {active:false}", async () => {
    const target = await newKey(teamA);
    const app = await server.keyport.clientService.createApp({ teamId: teamA, name: 'third party' });
    const caller = { id: app.client.client_id, secret: app.clientSecret! };
    expect((await introspect(target.secret, caller)).body).toEqual({ active: false });
  });

  it('a resource server, and the key itself, may introspect it: active, token_type api_key', async () => {
    const target = await newKey(teamA);
    const expected = { active: true, token_type: 'api_key', client_id: target.id, team_id: teamA, scope: 'api:read' };
    expect((await introspect(target.secret, rs)).body).toMatchObject(expected);
    expect((await introspect(target.secret, target)).body).toMatchObject(expected);
  });
});
