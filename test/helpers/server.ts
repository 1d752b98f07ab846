import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createKeyport, type Keyport } from '../../src/keyport.js';
import type { Clock } from '../../src/clock.js';
import type { KeyExpiringSubscriber } from '../../src/events/key-expiring.js';

export interface TestServer {
  readonly url: string;
  readonly config: Config;
  readonly keyport: Keyport;
  /** The server's log lines so far, parsed (with `captureLog`; set `log_level` to see any). */
  logLines(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A real keyport on a real listening socket (127.0.0.1, a free port). */
export async function startServer(
  databaseUrl: string,
  overrides: Record<string, unknown> = {},
  {
    clock,
    captureLog = false,
    onKeyExpiring,
  }: { clock?: Clock; captureLog?: boolean; onKeyExpiring?: readonly KeyExpiringSubscriber[] } = {},
): Promise<TestServer> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    env: {},
    overrides: {
      issuer: url,
      port,
      database_url: databaseUrl,
      keys_dir: join(mkdtempSync(join(tmpdir(), 'keyport-keys-')), 'keys'),
      log_level: 'silent',
      ...overrides,
    },
  });
  const lines: string[] = [];
  const logOutput = captureLog ? { write: (line: string) => void lines.push(line) } : undefined;
  const keyport = await createKeyport(config, { clock, logOutput, onKeyExpiring });
  server.on('request', keyport.handle);
  return {
    url,
    config,
    keyport,
    logLines: () =>
      lines
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await keyport.close();
    },
  };
}

/** Creates a team on `plan` and a service account in it; returns its credentials. */
export async function seedServiceAccount(keyport: Keyport, { plan = 'pro', scopes = ['api:read', 'api:write'] } = {}) {
  const team = await keyport.teamService.createTeam({ name: 'Acme', plan });
  const created = await keyport.clientService.createServiceAccount({ teamId: team.id, name: 'ci', scopes });
  return {
    team,
    clientId: created.client.client_id,
    clientSecret: created.clientSecret!,
    userId: created.client.user_id!,
  };
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the test will say so through its assertions
  }
  return { status: res.status, headers: res.headers, body, text };
}
