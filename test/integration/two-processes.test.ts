import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI, freePort, runCli } from '../helpers/cli.js';
import { DATABASES } from '../helpers/databases.js';
import { basic } from '../helpers/server.js';

const OPERATOR = 'p'.repeat(40);
const CONF = {
  admin_token: OPERATOR,
  plans: {
    tiny: { api_access: true, max_keys: 3, rate_limits: [10, 1000, 10_000] },
    roomy: { api_access: true, max_keys: 50, rate_limits: [1000, 10_000, 100_000] },
  },
};

/** `keyport serve` as its own OS process (one worker), resolved once /readyz answers. */
async function serve(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const base = `http://127.0.0.1:${env.PORT}`;
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    },
    { timeout: 30_000, interval: 100 },
  );
  return { child, base };
}

/**
 * Issue 25: what is exact inside one keyport is exact between two keyport
 * processes (two pools, no shared memory) on one database: the key limit,
 * a key's plan budget and its credits.
 */
describe.each(DATABASES)('two keyport processes on one $name database', (database) => {
  const children: ChildProcess[] = [];
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let bases: string[];
  let rs: { client_id: string; client_secret: string };

  const cli = async (...args: string[]) => {
    const result = await runCli(env, ...args, '-json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, any>;
  };
  const createKey = (base: string, team: number, body: Record<string, unknown> = {}) =>
    fetch(`${base}/api/teams/${team}/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'service_account', ...body }),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));
  const verify = (base: string, key: string) =>
    fetch(`${base}/keys/verify`, {
      method: 'POST',
      headers: { authorization: basic(rs.client_id, rs.client_secret), 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));
  /** `n` calls, alternating between the two processes, all at once. */
  const fromBoth = <T>(n: number, call: (base: string) => Promise<T>) =>
    Promise.all(Array.from({ length: n }, (_, i) => call(bases[i % 2]!)));

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    const dir = mkdtempSync(join(tmpdir(), 'keyport-two-'));
    const conf = join(dir, 'keyport.json');
    writeFileSync(conf, JSON.stringify(CONF));
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: created.url,
      KEYS_DIR: join(dir, 'keys'),
      KEYPORT_CONF: conf,
      KEYPORT_WORKERS: '1',
      LOG_LEVEL: 'silent',
    };
    await cli('migrate');
    rs = (await cli('resourceserveradd', '-name', 'api')) as typeof rs;
    bases = [];
    for (let i = 0; i < 2; i++) {
      const served = await serve({ ...env, PORT: String(await freePort()) });
      children.push(served.child);
      bases.push(served.base);
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(
      children.map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        return exited;
      }),
    );
    await drop?.();
  });

  it('ten creates racing from both processes for a limit of three: exactly three keys, the rest 403 key_limit_reached', async () => {
    const team = (await cli('teamadd', '-name', 'Race', '-plan', 'tiny')).team_id as number;
    const answers = await fromBoth(10, (base) => createKey(base, team));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, ...Array(7).fill(403)]);
    expect(answers.filter((a) => a.status === 403).every((a) => a.body.error === 'key_limit_reached')).toBe(true);
    const listed = await fetch(`${bases[0]}/api/teams/${team}/clients`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    }).then((res) => res.json() as Promise<{ data: unknown[] }>);
    expect(listed.data).toHaveLength(3);
  }, 60_000);

  it("one key's budget spent from both processes: exactly the plan's ten are VALID, the rest RATE_LIMITED", async () => {
    const team = (await cli('teamadd', '-name', 'Budget', '-plan', 'tiny')).team_id as number;
    const key = (await createKey(bases[0]!, team)).body.client_secret as string;
    const answers = await fromBoth(24, (base) => verify(base, key));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body.code === 'VALID')).toHaveLength(10);
    expect(answers.filter((a) => a.body.code === 'RATE_LIMITED')).toHaveLength(14);
  }, 60_000);

  it("one key's credits spent from both processes: exactly five are VALID, the rest USAGE_EXCEEDED, none left", async () => {
    const team = (await cli('teamadd', '-name', 'Credits', '-plan', 'roomy')).team_id as number;
    const created = await createKey(bases[1]!, team, { credits: { remaining: 5 } });
    expect(created.status).toBe(201);
    const answers = await fromBoth(16, (base) => verify(base, created.body.client_secret as string));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.filter((a) => a.body.code === 'VALID')).toHaveLength(5);
    expect(answers.filter((a) => a.body.code === 'USAGE_EXCEEDED')).toHaveLength(11);
    const read = await fetch(`${bases[0]}/api/teams/${team}/clients/${created.body.client_id}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    }).then((res) => res.json() as Promise<Record<string, any>>);
    expect(read.credits).toMatchObject({ remaining: 0 });
  }, 60_000);
});
