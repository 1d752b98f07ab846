import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, freePort } from '../helpers/cli.js';

const METRICS_TOKEN = 'metrics-token-for-the-listen-test-0123456789';

/** The local addresses a TCP socket LISTENs on for `port`, from the kernel's own table (Linux). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/);
      const [addr = '', p] = local.split(':');
      if (p !== hexPort || state !== '0A') continue;
      if (addr.length === 8)
        out.push(
          (addr.match(/../g) ?? [])
            .reverse()
            .map((h) => parseInt(h, 16))
            .join('.'),
        );
      else out.push(addr === '0'.repeat(32) ? '::' : addr);
    }
  }
  return out;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** `keyport serve` as a child process, as `npm start` runs it; resolves once /healthz answers. */
async function serve(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-listen-'));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      KEYPORT_WORKERS: '1',
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      KEYS_DIR: join(dir, 'keys'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { port, base, output: () => output };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`keyport did not start:\n${output}`);
}

describe('keyport listens on loopback unless told otherwise', () => {
  it('without HOST it listens on 127.0.0.1 only, and says so in its start line', async () => {
    const server = await serve({});
    expect(listeningAddresses(server.port)).toEqual(['127.0.0.1']);
    expect(server.output()).toMatch(/"address":"127\.0\.0\.1"/);
  }, 60_000);

  it('on loopback /metrics needs no token (only this host can reach it)', async () => {
    const server = await serve({});
    expect((await fetch(`${server.base}/metrics`)).status).toBe(200);
  }, 60_000);

  it('HOST=0.0.0.0 listens on every interface; /metrics without metrics_token answers 404 and the start warns', async () => {
    const server = await serve({ HOST: '0.0.0.0' });
    expect(listeningAddresses(server.port)).toEqual(['0.0.0.0']);
    const res = await fetch(`${server.base}/metrics`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
    expect(server.output()).toMatch(/metrics_token/);
  }, 60_000);

  it('HOST=0.0.0.0 with metrics_token: /metrics answers 401 without the Bearer token and 200 with it', async () => {
    const server = await serve({ HOST: '0.0.0.0', KEYPORT_METRICS_TOKEN: METRICS_TOKEN });
    expect((await fetch(`${server.base}/metrics`)).status).toBe(401);
    const res = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('keyport_http_requests_total');
  }, 60_000);

  it('the config file’s listen_address works as HOST does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-listen-conf-'));
    const conf = join(dir, 'conf.json');
    writeFileSync(conf, JSON.stringify({ listen_address: '0.0.0.0' }));
    const server = await serve({ KEYPORT_CONF: conf });
    expect(listeningAddresses(server.port)).toEqual(['0.0.0.0']);
  }, 60_000);
});
