import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { serve, shutdown } from '../../src/main.js';

/** keyport as `serve` starts it (src/main.ts), on a free port. */
async function started(overrides: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-keepalive-'));
  const config = loadConfig({
    env: {},
    overrides: {
      port: 0,
      database_url: `sqlite:${join(dir, 'db.sqlite')}`,
      keys_dir: join(dir, 'keys'),
      log_level: 'silent',
      ...overrides,
    },
  });
  const { server, keyport } = await serve(config);
  const { port } = server.address() as AddressInfo;
  return { port, server, stop: () => shutdown(server, keyport, 5) };
}

/** One request on a raw kept-alive socket: the answer's head, and a promise of the socket's close. */
async function onKeptAliveSocket(port: number) {
  const socket = connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  let text = '';
  await new Promise<void>((resolve) =>
    socket.on('data', (chunk) => {
      text += String(chunk);
      if (text.includes('{"status":"ok"}')) resolve();
    }),
  );
  return { head: text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase(), closed, socket };
}

/** Issue 23, item 5: behind a load balancer, keyport must keep idle connections longer than the balancer does. */
describe('kept-alive connections (keep_alive_timeout_seconds)', () => {
  it('by default keeps an idle connection 65 s, longer than a 60 s load balancer (Node alone says 5)', async () => {
    const kp = await started();
    try {
      const { head, socket } = await onKeptAliveSocket(kp.port);
      expect(head).toContain('keep-alive: timeout=65');
      expect(kp.server.keepAliveTimeout).toBe(65_000);
      // Node requires the headers timeout above the keep-alive one, or a slow first request is cut.
      expect(kp.server.headersTimeout).toBeGreaterThan(kp.server.keepAliveTimeout);
      socket.destroy();
    } finally {
      await kp.stop();
    }
  });

  it('the setting governs the real socket: with 1 s, an idle connection is closed by keyport well before 5 s', async () => {
    const kp = await started({ keep_alive_timeout_seconds: 1 });
    try {
      const { head, closed } = await onKeptAliveSocket(kp.port);
      expect(head).toContain('keep-alive: timeout=1');
      const bound = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 4000).unref());
      expect(await Promise.race([closed.then(() => 'closed' as const), bound])).toBe('closed');
    } finally {
      await kp.stop();
    }
  });
});
