import { expect } from 'vitest';
import type { Db } from '../../src/persistence/sql/knex.js';
import { until } from './harness.js';
import type { Kind, Load, Tally } from './load.js';

/**
 * What must hold whatever the fault: no request went past its bound, no
 * well-formed request got a 500 (or any answer but its own or a 503 with
 * Retry-After), and no made-up credential was let through.
 */
export function assertHeld(tallies: Record<Kind, Tally>, { dropsAllowed = false } = {}): void {
  for (const [kind, t] of Object.entries(tallies)) {
    expect({ kind, hung: t.hung }).toEqual({ kind, hung: 0 });
    expect({ kind, wrong: t.wrong.slice(0, 5) }).toEqual({ kind, wrong: [] });
    expect({ kind, letThrough: t.letThrough }).toEqual({ kind, letThrough: 0 });
    if (!dropsAllowed) expect({ kind, dropped: t.dropped }).toEqual({ kind, dropped: 0 });
  }
}

/** Keyport serves again, with no restart: the load's own token and verify calls succeed again. */
export async function recovered(load: Load, ms: number): Promise<boolean> {
  const { token, verify } = load.tallies;
  const before = { token: token.ok, verify: verify.ok };
  return until(() => token.ok > before.token + 3 && verify.ok > before.verify + 3, ms);
}

/** The service account's stored usage_count (token grants, introspections, valid verifications). */
export async function storedUsage(db: Db, clientId: string): Promise<number> {
  const row = (await db('o_auth_clients').where({ client_id: clientId }).first('usage_count')) as
    { usage_count: number } | undefined;
  return Number(row?.usage_count ?? 0);
}
