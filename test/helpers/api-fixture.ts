import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { manualClock } from '../../src/clock.js';
import { DATABASES } from './databases.js';
import { startServer, type TestServer } from './server.js';

/** The plans of the examples' tests (Python, Go): `tiny` allows two calls a minute. */
export const EXAMPLE_PLANS = {
  pro: { api_access: true, max_keys: 100, rate_limits: [1000, 10_000, 100_000] },
  tiny: { api_access: true, max_keys: 10, rate_limits: [2, 100, 1000] },
};

/** The plans of the gateway check's tests: `tiny` allows one call a minute. */
export const GATEWAY_PLANS = {
  pro: { api_access: true, max_keys: 100, rate_limits: [100_000, 1_000_000, 10_000_000] },
  tiny: { api_access: true, max_keys: 10, rate_limits: [1, 1000, 10_000] },
};

/**
 * What the tests of an API protected by keyport start from (the gateway
 * check, the Python and Go examples): keyport on a fresh SQLite file with
 * its clock standing still (a fixed budget window ending between a test's
 * calls would let a call through, or refuse one), a team on plan `pro`, and
 * a resource server whose credentials the API uses.
 */
export interface ApiFixture {
  readonly keyport: TestServer;
  readonly clock: ReturnType<typeof manualClock>;
  readonly teamId: number;
  /** The resource server's client id and secret. */
  readonly rs: { readonly id: string; readonly secret: string };
  /** A new API key of the team (or of `teamId`). */
  newKey(
    scopes: string[],
    more?: { teamId?: number; name?: string; permissions?: string[]; roles?: string[] },
  ): Promise<{ id: string; secret: string }>;
  close(): Promise<void>;
}

export async function startApiFixture({
  settings,
  team = 'Acme',
  resourceServer = 'api',
}: {
  /** keyport's settings: the plans (`pro` among them) and anything else. */
  settings: Record<string, unknown>;
  team?: string;
  resourceServer?: string;
}): Promise<ApiFixture> {
  const sqlite = DATABASES.find((d) => d.name === 'sqlite')!;
  const { url, drop } = await sqlite.create();
  const clock = manualClock();
  const keyport = await startServer(url, settings, { clock });
  const teamId = (await keyport.keyport.teamService.createTeam({ name: team, plan: 'pro' })).id;
  const made = await keyport.keyport.clientService.createResourceServer({ name: resourceServer });
  return {
    keyport,
    clock,
    teamId,
    rs: { id: made.client.client_id, secret: made.clientSecret! },
    async newKey(scopes, more = {}) {
      const { teamId: teamOf = teamId, ...rest } = more;
      const created = await keyport.keyport.clientService.createServiceAccount({ teamId: teamOf, scopes, ...rest });
      return { id: created.client.client_id, secret: created.clientSecret! };
    },
    async close() {
      await keyport.close();
      await drop();
    },
  };
}

/** A process that prints the URL it listens on, started and running. */
export interface Listening {
  readonly child: ChildProcess;
  readonly url: string;
  /** Ends it (SIGTERM) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts `command` and answers once it prints `http://127.0.0.1:PORT` (the
 * gateway check's "listening on …", the examples' first line); a process
 * that exits before it fails the start.
 */
export async function spawnListening(
  command: string,
  args: readonly string[],
  options: Pick<SpawnOptions, 'env' | 'cwd'>,
): Promise<Listening> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const found = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (found) resolve(found[0]);
    });
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}) before it listened`)));
  });
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** `keyport-guard serve`, the gateway check of @keyport/guard. */
export const GATEWAY_BIN = join(import.meta.dirname, '../../packages/guard/bin/keyport-guard.js');

/** The gateway check for the fixture's keyport, with its resource server's credentials and the `routes` table file. */
export function startGatewayCheck(fixture: ApiFixture, routes: string): Promise<Listening> {
  return spawnListening(
    process.execPath,
    [GATEWAY_BIN, 'serve', '--issuer', fixture.keyport.url, '--listen', '127.0.0.1:0', '--routes', routes],
    { env: { ...process.env, KEYPORT_CLIENT_ID: fixture.rs.id, KEYPORT_CLIENT_SECRET: fixture.rs.secret } },
  );
}
