import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KeyportError } from '../../src/errors.js';
import { declareRoute, guarded } from '../../src/web/route.js';

const read = declareRoute({
  method: 'get',
  path: '/thing',
  summary: 'a read',
  security: 'none',
  query: z.object({ limit: z.coerce.number().int().min(1).max(10).default(5) }),
  status: 200,
  response: z.object({ id: z.string(), limit: z.int() }),
  errors: [400],
});

/**
 * The guard over a real listening Koa app: what the declaration strips never
 * leaves the server, and a bad field is 400 naming it.
 */
describe('a declared route (web/route.ts)', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        if (!(err instanceof KeyportError)) throw err;
        ctx.status = err.status;
        ctx.body = err.body();
      }
    });
    const handler = guarded(read, (_ctx, { query }) => {
      // A handler that returns more than it declares: a hash that must never leave.
      const row = { id: 'k1', limit: query.limit, secret_hash: '$2b$10$abc' };
      return row;
    });
    app.use((ctx) => handler(ctx));
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('an answer is stripped to its declaration: an undeclared field (a secret hash) never leaves', async () => {
    const res = await fetch(`${url}/thing?limit=3`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'k1', limit: 3 });
  });

  it('a bad query field is 400 invalid_request naming the field', async () => {
    const res = await fetch(`${url}/thing?limit=11`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/^limit: /) });
  });
});
