import type { KeyportProcess } from './harness.js';

/** What one kind of request got, counted by the load driver. */
export interface Tally {
  /** 2xx answers (for verify: `VALID` ones; for introspection: active ones). */
  ok: number;
  /** 503 answers that carried Retry-After and the surface's JSON error. */
  unavailable: number;
  /** Requests the client gave up on: nothing came back within the bound. */
  hung: number;
  /** Connections reset or refused (a worker killed under them). */
  dropped: number;
  /** Anything else, by status and a short body, to show in a failure. */
  wrong: string[];
  /** Made-up credentials that were let through. */
  letThrough: number;
}

export type Kind = 'token' | 'verify' | 'introspect' | 'admin' | 'bad_secret' | 'bad_key';

export interface Load {
  readonly tallies: Record<Kind, Tally>;
  /** When each answer that counts as a use (token, VALID verify, active introspection) came (Date.now()). */
  readonly usesAt: number[];
  /** Stops the loops and waits for the requests in flight. */
  stop(): Promise<void>;
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * A bounded load of real client requests against a keyport: `loops` callers
 * in a row each, client_credentials at /token, /keys/verify with the API key,
 * introspection of a token, and now and then made-up credentials. Every
 * request has a client-side deadline of `boundMs`: one that passes it is a hang.
 */
export function startLoad(kp: KeyportProcess, { loops = 4, boundMs }: { loops?: number; boundMs: number }): Load {
  const tally = (): Tally => ({ ok: 0, unavailable: 0, hung: 0, dropped: 0, wrong: [], letThrough: 0 });
  const tallies: Record<Kind, Tally> = {
    token: tally(),
    verify: tally(),
    introspect: tally(),
    admin: tally(),
    bad_secret: tally(),
    bad_key: tally(),
  };
  const usesAt: number[] = [];
  let running = true;
  let token: string | undefined;
  const rs = basic(kp.rsId, kp.rsSecret);

  const send = async (kind: Kind, path: string, headers: Record<string, string>, body?: string) => {
    const t = tallies[kind];
    let res: Response;
    let text: string;
    try {
      const method = body === undefined ? 'GET' : 'POST';
      res = await fetch(`${kp.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(boundMs) });
      text = await res.text();
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') t.hung += 1;
      else t.dropped += 1;
      return undefined;
    }
    const json = parse(text);
    if (res.status === 503) {
      // RFC 6749's JSON error on the OAuth endpoints; the contract's {error, message, retry_after} elsewhere.
      const described = path.startsWith('/token')
        ? typeof json?.error_description === 'string'
        : typeof json?.message === 'string' && typeof json?.retry_after === 'number';
      if (res.headers.get('retry-after') && json?.error === 'temporarily_unavailable' && described) t.unavailable += 1;
      else t.wrong.push(`503 without Retry-After or JSON error: ${text.slice(0, 120)}`);
      return undefined;
    }
    return { status: res.status, json, text };
  };
  const wrong = (kind: Kind, got: { status: number; text: string }) =>
    tallies[kind].wrong.push(`${got.status} ${got.text.slice(0, 160)}`);

  const steps: Array<() => Promise<void>> = [
    async () => {
      const form = 'grant_type=client_credentials&scope=api%3Aread';
      const got = await send(
        'token',
        '/token',
        { authorization: basic(kp.clientId, kp.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        form,
      );
      if (!got) return;
      if (got.status === 200 && typeof got.json?.access_token === 'string') {
        tallies.token.ok += 1;
        usesAt.push(Date.now());
        token = got.json.access_token;
      } else wrong('token', got);
    },
    async () => {
      const got = await send(
        'verify',
        '/keys/verify',
        { authorization: rs, 'content-type': 'application/json' },
        JSON.stringify({ key: kp.clientSecret }),
      );
      if (!got) return;
      if (got.status === 200 && got.json?.code === 'VALID') {
        tallies.verify.ok += 1;
        usesAt.push(Date.now());
      } else wrong('verify', got);
    },
    async () => {
      if (!token) return;
      const got = await send(
        'introspect',
        '/token/introspection',
        { authorization: rs, 'content-type': 'application/x-www-form-urlencoded' },
        `token=${encodeURIComponent(token)}`,
      );
      if (!got) return;
      if (got.status === 200 && got.json?.active === true) {
        tallies.introspect.ok += 1;
        usesAt.push(Date.now());
      } else wrong('introspect', got);
    },
    async () => {
      const got = await send('admin', `/api/teams/${kp.teamId}/clients`, { authorization: `Bearer ${kp.adminToken}` });
      if (!got) return;
      if (got.status === 200) tallies.admin.ok += 1;
      else wrong('admin', got);
    },
    async () => {
      const got = await send(
        'bad_secret',
        '/token',
        { authorization: basic(kp.decoyId, 'not-the-secret'), 'content-type': 'application/x-www-form-urlencoded' },
        'grant_type=client_credentials',
      );
      if (!got) return;
      if (got.status === 200) tallies.bad_secret.letThrough += 1;
      else if (got.status === 401 || got.status === 429) tallies.bad_secret.ok += 1;
      else wrong('bad_secret', got);
    },
    async () => {
      const got = await send(
        'bad_key',
        '/keys/verify',
        { authorization: rs, 'content-type': 'application/json' },
        JSON.stringify({ key: `${kp.clientSecret.slice(0, -8)}AAAAAAAA` }),
      );
      if (!got) return;
      if (got.json?.valid === true) tallies.bad_key.letThrough += 1;
      else if (got.status === 200) tallies.bad_key.ok += 1;
      else wrong('bad_key', got);
    },
  ];
  // Mostly well-formed calls, an operator's now and then, one made-up credential in eight.
  const plan = [0, 1, 2, 0, 1, 2, 1, 4, 0, 1, 2, 3, 0, 1, 2, 1, 5];
  const loop = async (offset: number) => {
    for (let i = offset; running; i++) await steps[plan[i % plan.length]!]!();
  };
  const all = Array.from({ length: loops }, (_, n) => loop(n * 3));
  return {
    tallies,
    usesAt,
    async stop() {
      running = false;
      await Promise.all(all);
    },
  };
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Uses that the service account's usage_count must hold once everything is written. */
export const usageOwed = (t: Record<Kind, Tally>) => t.token.ok + t.verify.ok + t.introspect.ok;

/** A one-line summary of the counts, for the test's log and the soak's record. */
export function summary(t: Record<Kind, Tally>): string {
  return (Object.entries(t) as Array<[Kind, Tally]>)
    .map(
      ([k, v]) =>
        `${k}: ok ${v.ok}, 503 ${v.unavailable}, hung ${v.hung}, dropped ${v.dropped}, wrong ${v.wrong.length}`,
    )
    .join('; ');
}
