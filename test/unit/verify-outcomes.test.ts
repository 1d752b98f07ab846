import { describe, expect, it } from 'vitest';
import type { ClientRecord } from '../../src/clients/client.js';
import type { UsageOutcome } from '../../src/clients/key-usage.js';
import type { FoundKey, VerifyOutcome, VerifyOutcomeKind } from '../../src/verification/outcome.js';
import { usageOutcomeOf } from '../../src/verification/usage-outcome.js';
import { verifyAnswer, type VerifyCode } from '../../src/verification/wire.js';
import { checkExpiry, startVerification } from '../../src/verification/steps.js';

const client = {
  clientId: 'kp_key',
  teamId: 7,
  environment: 'prod',
  name: 'CI',
  expiresAt: 1_900_000_000,
  credits: { remaining: 5, refill: null },
  allowedIps: [],
} as unknown as ClientRecord;
const key: FoundKey = { kind: 'found', client, scopes: ['api:read'], permissions: [], isKey: true, validUntilMs: null };
const ratelimit = { limit: 10, remaining: 3, reset: 1_800_000_000 };

/** One outcome of each kind; `satisfies` makes this table fail to compile when a kind is added and not listed. */
const EXAMPLES = {
  not_found: { kind: 'not_found', reason: 'bad_checksum' },
  revoked: { kind: 'revoked', key },
  expired: { kind: 'expired', key },
  no_api_access: { kind: 'no_api_access', key, ratelimit },
  insufficient_scope: { kind: 'insufficient_scope', key, missing: ['api:write'], ratelimit },
  insufficient_permissions: { kind: 'insufficient_permissions', key, missing: ['projects:write'], ratelimit },
  forbidden_ip: { kind: 'forbidden_ip', key, address: '198.51.100.7' },
  rate_limited: { kind: 'rate_limited', key, ratelimit, retryAfter: 12 },
  usage_exceeded: { kind: 'usage_exceeded', key, ratelimit },
  valid: { kind: 'valid', key, ratelimit, credits: 4, lease: { calls: 2, ttl_ms: 5000 } },
} satisfies { [K in VerifyOutcomeKind]: Extract<VerifyOutcome, { kind: K }> };

/** docs/contract.md `/keys/verify` and usage per hour by outcome: every outcome, its code and what it counts. */
const EXPECTED: { [K in VerifyOutcomeKind]: { code: VerifyCode; usage: UsageOutcome | undefined } } = {
  not_found: { code: 'NOT_FOUND', usage: undefined },
  revoked: { code: 'REVOKED', usage: undefined },
  expired: { code: 'EXPIRED', usage: undefined },
  no_api_access: { code: 'NO_API_ACCESS', usage: undefined },
  insufficient_scope: { code: 'INSUFFICIENT_SCOPE', usage: 'insufficient_scope' },
  insufficient_permissions: { code: 'INSUFFICIENT_PERMISSIONS', usage: 'insufficient_scope' },
  forbidden_ip: { code: 'FORBIDDEN_IP', usage: 'forbidden_ip' },
  rate_limited: { code: 'RATE_LIMITED', usage: 'rate_limited' },
  usage_exceeded: { code: 'USAGE_EXCEEDED', usage: 'usage_exceeded' },
  valid: { code: 'VALID', usage: 'valid' },
};

describe('the verification outcomes and their two mappings', () => {
  it.each(Object.keys(EXPECTED) as VerifyOutcomeKind[])('%s: one wire code, one usage outcome', (kind) => {
    const outcome = EXAMPLES[kind] as VerifyOutcome;
    const answer = verifyAnswer(outcome);
    expect(answer.code).toBe(EXPECTED[kind].code);
    expect(answer.valid).toBe(kind === 'valid');
    expect(usageOutcomeOf(outcome)).toBe(EXPECTED[kind].usage);
  });

  it('every wire code of the contract is reached by exactly one outcome', () => {
    const codes = Object.values(EXPECTED).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(
      [
        'VALID',
        'NOT_FOUND',
        'EXPIRED',
        'REVOKED',
        'RATE_LIMITED',
        'USAGE_EXCEEDED',
        'INSUFFICIENT_SCOPE',
        'INSUFFICIENT_PERMISSIONS',
        'NO_API_ACCESS',
        'FORBIDDEN_IP',
      ].sort(),
    );
  });

  it('NOT_FOUND says nothing but its code, whatever the internal reason', () => {
    for (const reason of ['bad_checksum', 'unknown', 'not_an_api_key', 'token_client_gone'] as const)
      expect(verifyAnswer({ kind: 'not_found', reason })).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('internal reasons stay off the wire: no missing scopes, no reason field', () => {
    const body = JSON.stringify(verifyAnswer(EXAMPLES.insufficient_scope));
    expect(body).not.toContain('api:write');
    expect(body).not.toContain('missing');
    expect(body).not.toContain('reason');
  });

  it("the key's public details, the budget, credits, retry_after and the lease where each belongs", () => {
    expect(verifyAnswer(EXAMPLES.valid)).toEqual({
      valid: true,
      code: 'VALID',
      client_id: 'kp_key',
      team_id: 7,
      environment: 'prod',
      scopes: ['api:read'],
      permissions: [],
      name: 'CI',
      expires_at: new Date(1_900_000_000 * 1000).toISOString(),
      ratelimit,
      credits: { remaining: 4 },
      lease: { calls: 2, ttl_ms: 5000 },
    });
    expect(verifyAnswer(EXAMPLES.rate_limited)).toMatchObject({
      ratelimit,
      retry_after: 12,
      credits: { remaining: 5 },
    });
    expect(verifyAnswer(EXAMPLES.rate_limited)).not.toHaveProperty('lease');
    expect(verifyAnswer(EXAMPLES.usage_exceeded)).toMatchObject({ ratelimit, credits: { remaining: 0 } });
    expect(verifyAnswer(EXAMPLES.usage_exceeded)).not.toHaveProperty('retry_after');
    for (const kind of ['revoked', 'expired'] as const)
      expect(verifyAnswer(EXAMPLES[kind])).toMatchObject({ ratelimit: null, credits: { remaining: 5 } });
    // Refused without spending, yet with the budget as it stands (the guard's X-RateLimit-* on its 403s).
    for (const kind of ['no_api_access', 'insufficient_scope'] as const)
      expect(verifyAnswer(EXAMPLES[kind])).toMatchObject({ ratelimit, credits: { remaining: 5 } });
  });

  it('an unknown kind is a thrown error, never a silent answer', () => {
    const bogus = { kind: 'no_such_outcome', key } as unknown as VerifyOutcome;
    expect(() => verifyAnswer(bogus)).toThrow(/unexpected/);
    expect(() => usageOutcomeOf(bogus)).toThrow(/unexpected/);
  });
});

describe('the expiry step', () => {
  const at = (expiresAt: number | null) => ({
    ...key,
    client: { ...client, expiresAt } as ClientRecord,
  });
  const run = (expiresAt: number | null, nowMs: number) =>
    checkExpiry({} as never, startVerification({ scopes: [] } as never, at(expiresAt), nowMs));

  it('refuses a key from the second its expires_at names, and not a millisecond before', () => {
    expect(run(1_900_000_000, 1_900_000_000_000)).toMatchObject({ kind: 'expired' });
    expect(run(1_900_000_000, 1_899_999_999_999)).toBeUndefined();
    expect(run(null, 1_900_000_000_000)).toBeUndefined();
  });
});
