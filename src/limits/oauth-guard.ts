import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuthFailures } from './auth-failures.js';
import type { BcryptGate } from './bcrypt-gate.js';
import { verifySecret } from '../clients/secrets.js';
import type { VerifiedSecrets } from '../clients/verified-secrets.js';
import type { LimitVerdict, PlanLimits } from './plan-limits.js';

/** 429 inside the OAuth surface; the body is rewritten to CONTRACT.md's by `oauthGuard`. */
export class RateLimitExceeded extends errors.OIDCProviderError {
  constructor(readonly retryAfter: number) {
    super(429, 'rate_limit_exceeded');
    (this as unknown as { error_description: string }).error_description = 'rate limit exceeded';
  }
}

/** Endpoints where clients authenticate (oidc-provider's default paths), by route name. */
const CLIENT_AUTH_ROUTES = new Map([
  ['/token', 'oidc:token'],
  ['/token/introspection', 'oidc:introspection'],
  ['/token/revocation', 'oidc:revocation'],
]);
/** Of those, the ones that spend the plan budget (CONTRACT.md). */
const BUDGETED_ROUTES = new Set(['token', 'introspection']);

function applyVerdict(ctx: KoaContextWithOIDC, verdict: LimitVerdict): void {
  ctx.set(verdict.headers);
  if (!verdict.allowed) {
    ctx.set('Retry-After', String(verdict.retryAfter));
    ctx.state.limitReason = 'plan';
    throw new RateLimitExceeded(verdict.retryAfter);
  }
}

export interface OAuthLimits {
  readonly plans: PlanLimits;
  readonly failures: AuthFailures;
  readonly bcrypt: BcryptGate;
  readonly verified: VerifiedSecrets;
}

/**
 * Charges an authenticated client's plan budget, from inside client
 * authentication (after the secret or assertion checked out, before the
 * endpoint does any work). `client` carries keyport's metadata.
 */
export async function chargeAuthenticatedClient(limits: OAuthLimits, client: { clientId: string; metadata(): object }): Promise<void> {
  const ctx = Provider.ctx as KoaContextWithOIDC | undefined;
  if (!ctx || !BUDGETED_ROUTES.has(String(ctx.oidc?.route))) return;
  const meta = client.metadata() as { plan?: string; environment: string; kind: string };
  applyVerdict(ctx, await limits.plans.consume(client.clientId, limits.plans.limitsFor(meta)));
}

/**
 * Refuses a client_id that failed too often. `beforeBcrypt` reads the
 * counters of the client and of the source address from the database; a
 * secret verified before may rely on a clean answer up to a second old.
 */
async function refuseThrottledClient(limits: OAuthLimits, clientId: string, beforeBcrypt: boolean): Promise<void> {
  const address = beforeBcrypt ? Provider.ctx?.ip : undefined;
  const wait = await limits.failures.retryAfter({ clientId, address }, { exact: beforeBcrypt });
  if (wait > 0) {
    Provider.ctx?.set('Retry-After', String(wait));
    if (Provider.ctx) Provider.ctx.state.limitReason = 'auth_failures';
    throw new RateLimitExceeded(wait);
  }
}

/**
 * Whether `secret` matches one of the client's stored hashes (the current
 * one, and the previous one during a rotation's grace period). A match seen
 * before is remembered; otherwise bcrypt runs through the gate, and a full
 * gate answers 429 at once. A throttled client_id is refused either way.
 */
export async function secretMatches(limits: OAuthLimits, clientId: string, secret: string, hashes: ReadonlyArray<string | undefined>): Promise<boolean> {
  const candidates = hashes.filter((h): h is string => h !== undefined);
  if (candidates.some((hash) => limits.verified.has(clientId, hash, secret))) {
    await refuseThrottledClient(limits, clientId, false);
    return true;
  }
  // A client_id or address under a brute-force attack is refused before any bcrypt work.
  await refuseThrottledClient(limits, clientId, true);
  const matched = await limits.bcrypt.run(Provider.ctx?.ip ?? 'unknown', async () => {
    for (const hash of candidates) if (await verifySecret(secret, hash)) return hash;
    return null;
  });
  if (matched === undefined) {
    Provider.ctx?.set('Retry-After', '1');
    if (Provider.ctx) Provider.ctx.state.limitReason = 'bcrypt_busy';
    throw new RateLimitExceeded(1);
  }
  if (matched === null) return false;
  limits.verified.remember(clientId, matched, secret);
  return true;
}

/**
 * Near the top of keyport's app, before any routing: a source address that
 * failed too often is refused on oidc-provider's client-authenticating
 * endpoints, so a flood from it costs as little as a request can.
 */
export function refuseThrottledAddress(limits: OAuthLimits) {
  return async (ctx: import('koa').Context, next: () => Promise<void>): Promise<void> => {
    const route = CLIENT_AUTH_ROUTES.get(ctx.path);
    if (ctx.method !== 'POST' || !route) return next();
    const wait = await limits.failures.retryAfter({ address: ctx.ip });
    if (wait === 0) return next();
    ctx.state.limitReason = 'auth_failures';
    ctx.state.route = route;
    ctx.status = 429;
    ctx.set({ 'Retry-After': String(wait), 'Cache-Control': 'no-store' });
    ctx.body = { error: 'rate_limit_exceeded', retry_after: wait };
  };
}

/**
 * Around oidc-provider's client-authenticating endpoints: every failed client
 * authentication is counted for its address and client_id; and a 429 gets
 * the body `{"error":"rate_limit_exceeded","retry_after":N}`.
 */
export function oauthGuard(limits: OAuthLimits) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    if (ctx.method !== 'POST' || !CLIENT_AUTH_ROUTES.has(ctx.path)) return next();

    await next();

    const body = ctx.body as { error?: string } | undefined;
    if (ctx.status === 401 && body?.error === 'invalid_client') {
      await limits.failures.failed({ address: ctx.ip, clientId: ctx.oidc?.client?.clientId });
    } else if (ctx.status === 429 && body?.error === 'rate_limit_exceeded') {
      ctx.body = { error: 'rate_limit_exceeded', retry_after: Number(ctx.response.get('Retry-After')) || 1 };
    }
  };
}
