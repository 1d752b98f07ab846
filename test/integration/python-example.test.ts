import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_PLANS,
  spawnListening,
  startApiFixture,
  type ApiFixture,
  type Listening,
} from '../helpers/api-fixture.js';

/**
 * Issue 27 item 4: a resource server outside Node, without a proxy. The Python example in
 * examples/python calls POST /keys/verify on each call and maps the answer to the contract's.
 */
describe('the Python example (examples/python/hello_api.py)', () => {
  let fixture: ApiFixture;
  let python: Listening;
  let keyport: ApiFixture['keyport'];
  let teamId: number;
  let api: string;

  const keyOf = (scopes: string[], teamOf = teamId) => fixture.newKey(scopes, { teamId: teamOf, name: 'py' });
  const call = (path: string, headers: Record<string, string>, method = 'GET') =>
    fetch(`${api}${path}`, { method, headers });

  beforeAll(async () => {
    fixture = await startApiFixture({ settings: { plans: EXAMPLE_PLANS }, team: 'Py', resourceServer: 'hello-py' });
    ({ keyport, teamId } = fixture);
    python = await spawnListening('python3', ['examples/python/hello_api.py'], {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        KEYPORT_ISSUER: keyport.url,
        KEYPORT_CLIENT_ID: fixture.rs.id,
        KEYPORT_CLIENT_SECRET: fixture.rs.secret,
      },
    });
    api = python.url;
  });
  afterAll(async () => {
    await python?.stop();
    await fixture?.close();
  });

  it('a valid key (Bearer or x-api-key) reaches the API as its team, with X-RateLimit-*', async () => {
    const key = await keyOf(['api:read', 'api:write']);
    const bearer = await call('/projects', { authorization: `Bearer ${key.secret}` });
    expect(bearer.status).toBe(200);
    expect(await bearer.json()).toMatchObject({ team_id: teamId });
    expect(bearer.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(Number(bearer.headers.get('x-ratelimit-remaining'))).toBe(999);
    const header = await call('/runs', { 'x-api-key': key.secret }, 'POST');
    expect(header.status).toBe(201);
    expect(await header.json()).toEqual({ run: 42, by: key.id });
  });

  it('unknown, missing and revoked keys get 401 with the contract body; a missing scope 403', async () => {
    const body401 = { error: 'invalid_api_key', message: 'API key is invalid or expired' };
    const unknown = await call('/projects', { authorization: 'Bearer keyport_sk_prod_nope' });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(body401);
    expect((await call('/projects', {})).status).toBe(401);
    const key = await keyOf(['api:read']);
    const writes = await call('/runs', { authorization: `Bearer ${key.secret}` }, 'POST');
    expect(writes.status).toBe(403);
    expect(await writes.json()).toMatchObject({ error: 'insufficient_permissions' });
    await keyport.keyport.clientService.revoke(key.id);
    const revoked = await call('/projects', { authorization: `Bearer ${key.secret}` });
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual(body401);
  });

  it('a key over its plan budget gets 429 with Retry-After', async () => {
    const tiny = (await keyport.keyport.teamService.createTeam({ name: 'Tiny', plan: 'tiny' })).id;
    const key = await keyOf(['api:read'], tiny);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i += 1) {
      last = await call('/projects', { authorization: `Bearer ${key.secret}` });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await last!.json()).toMatchObject({ error: 'rate_limit_exceeded' });
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('keyport out of reach: 503, never through', async () => {
    const key = await keyOf(['api:read']);
    await keyport.close();
    const res = await call('/projects', { authorization: `Bearer ${key.secret}` });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});
