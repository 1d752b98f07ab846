import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * BugBrain's document (001, "Creating Service Keys · Via API") creates a key with an existing key:
 *
 *   curl -X POST …/service-keys -H "Authorization: Bearer $EXISTING_KEY" -H "Content-Type: application/json"
 *     -d '{"name": "CI/CD Integration", "environment": "prod", "expires_in_days": 90}'
 *
 * keyport's key API is /api/teams/:team/clients; the headers and the body are the document's.
 */
const DOCUMENT_BODY = `{
    "name": "CI/CD Integration",
    "environment": "prod",
    "expires_in_days": 90
  }`;

describe.each(DATABASES)('an API key with keys:manage is an admin-API caller on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;
  let team: number;
  let other: number;

  const documentRequest = (teamId: number, key: string, body = DOCUMENT_BODY) =>
    fetch(`${server.url}/api/teams/${teamId}/clients`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body,
    });
  const keyOf = async (teamId: number, scopes: string[]) => {
    const made = await server.keyport.clientService.createServiceAccount({ teamId, name: 'existing', scopes });
    return { clientId: made.client.client_id, key: made.clientSecret! };
  };

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url, { plans: { pro: { api_access: true, max_keys: 50 } } });
    team = (await server.keyport.teamService.createTeam({ name: 'BugBrain', plan: 'pro' })).id;
    other = (await server.keyport.teamService.createTeam({ name: 'Other', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it("the document's request with an existing keys:manage key answers 201 with the new key, audited as that key", async () => {
    const existing = await keyOf(team, ['api:read', 'keys:manage']);
    const res = await documentRequest(team, existing.key);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ name: 'CI/CD Integration', environment: 'prod', kind: 'service_account' });
    expect(body.client_secret).toMatch(/^keyport_sk_prod_/);
    const days = (Date.parse(String(body.expires_at)) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(90);
    // Its plan budget is spent as a token's is.
    expect(res.headers.get('x-ratelimit-limit')).toBe('30'); // the pro plan of this test: [30, 500, 5000]

    const events = await fetch(`${server.url}/api/teams/${team}/events`, {
      headers: { authorization: `Bearer ${existing.key}` },
    });
    expect(events.status).toBe(200);
    const { data } = (await events.json()) as {
      data: Array<{ action: string; actor: { type: string; id: string | null }; client_id?: string }>;
    };
    const made = data.find((e) => e.action === 'client.create');
    expect(made?.actor).toMatchObject({ type: 'client', id: existing.clientId });
  });

  it('a key without keys:manage answers 403 insufficient_permissions, not invalid_token', async () => {
    const existing = await keyOf(team, ['api:read']);
    const res = await documentRequest(team, existing.key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_permissions');
  });

  it("another team's path answers 404 not_found, and nothing is created there", async () => {
    const existing = await keyOf(team, ['keys:manage']);
    const res = await documentRequest(other, existing.key);
    expect(res.status).toBe(404);
    expect((await server.keyport.clientService.list(other, { limit: 100, offset: 0 })).total_count).toBe(0);
  });

  it('a revoked key answers 401 invalid_token saying the key is revoked', async () => {
    const existing = await keyOf(team, ['keys:manage']);
    await server.keyport.clientService.revoke(existing.clientId);
    const res = await documentRequest(team, existing.key);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('invalid_token');
    expect(body.message).toMatch(/API key is revoked/);
  });

  it('a key of a team whose plan lost API access answers 403 insufficient_permissions', async () => {
    const poor = (await server.keyport.teamService.createTeam({ name: 'Poor', plan: 'pro' })).id;
    const existing = await keyOf(poor, ['keys:manage']);
    await server.keyport.db('teams').where({ id: poor }).update({ plan: 'starter' });
    const res = await documentRequest(poor, existing.key);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('insufficient_permissions');
    expect(body.message).toMatch(/plan/);
  });
});
