import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { REVEALS_PER_MINUTE } from '../../src/share-pages/router.js';

/** Issue 17 on every database: one reveal wins, ids are unguessable, reveals are limited per address. */
describe.each(DATABASES)('one-time links on $name', (database) => {
  let server: TestServer;
  let second: TestServer;
  let drop: () => Promise<void>;
  let teamId: number;

  const link = async () => {
    const created = await server.keyport.clientService.createServiceAccount({ teamId });
    const answer = await server.keyport.clientService.handOver(created, {});
    return new URL(answer.share_url!);
  };
  const reveal = (base: string, path: string) =>
    fetch(`${base}${path}/reveal`, { method: 'POST', headers: { 'x-keyport-reveal': '1' } });
  /** A reveal from a chosen loopback address. */
  const revealFrom = (localAddress: string, path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${server.url}${path}/reveal`,
        { method: 'POST', localAddress, headers: { 'x-keyport-reveal': '1' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
    second = await startServer(created.url, { keys_dir: server.config.keysDir });
    teamId = (await server.keyport.teamService.createTeam({ name: 'Acme', plan: 'pro' })).id;
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
    await drop?.();
  });

  it("the page names what the secret is for: an app's name, its kind and its client id (escaped)", async () => {
    const created = await server.keyport.clientService.createApp({ teamId, name: 'Report <Builder>' });
    const answer = await server.keyport.clientService.handOver(created, {});
    const res = await fetch(answer.share_url!);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('Report &lt;Builder&gt;');
    expect(body).not.toContain('Report <Builder>');
    expect(body).toContain(created.client.client_id);
    expect(body).toMatch(/OAuth app/);
    expect(body).not.toMatch(/API key/);
    const sa = await server.keyport.clientService.createServiceAccount({ teamId, name: 'ci' });
    const saPage = await (await fetch((await server.keyport.clientService.handOver(sa, {})).share_url!)).text();
    expect(saPage).toContain(sa.client.client_id);
    expect(saPage).toMatch(/API key/);
    expect(saPage).toContain('<strong>ci</strong>');
  });

  it('of ten concurrent reveals on two processes, exactly one gets the ciphertext; the row keeps none', async () => {
    const url = await link();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => reveal(i % 2 ? second.url : server.url, url.pathname)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(9).fill(410)]);
    const row = await server.keyport
      .db('share_links')
      .where({ id: url.pathname.slice(3) })
      .first();
    expect(row.ciphertext).toBeNull();
    expect(row.opened_at).toEqual(expect.any(Number));
  });

  it('a reveal needs the page’s header (a cross-site form cannot send it), and is limited per address', async () => {
    const url = await link();
    expect((await fetch(`${server.url}${url.pathname}/reveal`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${server.url}${url.pathname}`)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < REVEALS_PER_MINUTE + 1; i++)
      statuses.push(await revealFrom('127.0.0.9', `/s/unknown-id-${String(i).padStart(11, '0')}`));
    expect(statuses.slice(0, REVEALS_PER_MINUTE).every((s) => s === 410)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
