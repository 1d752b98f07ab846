import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import type Koa from 'koa';
import type { AuthFailures } from '../limits/auth-failures.js';
import type { BcryptGate } from '../limits/bcrypt-gate.js';
import { ClientThrottled, secretMatches } from '../clients/authenticate.js';
import type { SharedVerifications, VerifiedSecrets } from '../clients/verified-secrets.js';
import { keyportMetadata } from '../clients/metadata.js';
import type { LimitVerdict, PlanLimits } from '../limits/plan-limits.js';
import type { KeyUsage } from '../clients/key-usage.js';

/** 429 inside the OAuth surface; the body is rewritten to docs/contract.md's by `oauthGuard`. */
export class RateLimitExceeded extends errors.OIDCProviderError {
  constructor(readonly retryAfter: number) {
    super(429, 'rate_limit_exceeded');
    (this as unknown as { error_description: string }).error_description = 'rate limit exceeded';
  }
}

/** Of the client-authenticating routes, the ones that spend the plan budget (docs/contract.md). */
const BUDGETED_ROUTES = new Set(['token', 'introspection']);

function applyVerdict(ctx: KoaContextWithOIDC, verdict: LimitVerdict): void {
  ctx.set(verdict.headers);
  if (!verdict.allowed) {
    ctx.set('Retry-After', String(verdict.retryAfter));
    noteRateLimit(ctx.state, 'plan');
    throw new RateLimitExceeded(verdict.retryAfter);
  }
}

export interface OAuthLimits {
  readonly plans: PlanLimits;
  readonly failures: AuthFailures;
  readonly bcrypt: BcryptGate;
  readonly verified: VerifiedSecrets;
  readonly shared?: SharedVerifications;
  /** Where a refusal by address is counted (the key's usage, `forbidden_ip`). */
  readonly keyUsage?: Pick<KeyUsage, 'record'>;
}

/**
 * Charges an authenticated client's plan budget, from inside client
 * authentication (after the secret or assertion checked out, before the
 * endpoint does any work). `client` carries keyport's metadata.
 */
export async function chargeAuthenticatedClient(
  limits: OAuthLimits,
  client: { clientId: string; metadata(): object },
): Promise<void> {
  const ctx = Provider.ctx as KoaContextWithOIDC | undefined;
  if (!ctx || !BUDGETED_ROUTES.has(String(ctx.oidc?.route))) return;
  const meta = keyportMetadata(client);
  const counter = limits.plans.counterOf({
    clientId: client.clientId,
    teamId: meta.team_id,
    plan: meta.plan,
    environment: meta.environment,
    kind: meta.kind,
  });
  applyVerdict(ctx, await limits.plans.consume(counter, limits.plans.limitsFor(meta)));
}

/**
 * oidc-provider's secret comparison, through keyport's (clients/authenticate.ts),
 * with the request's source address; a throttle answers 429.
 */
export async function providerSecretMatches(
  limits: OAuthLimits,
  clientId: string,
  secret: string,
  hashes: ReadonlyArray<string | undefined>,
  digest?: string,
): Promise<boolean> {
  const ctx = Provider.ctx;
  try {
    // RFC 6749 §2.3.1 form-encodes Basic credentials; curl -u and authlib send them raw (see basicAsSent).
    const raw = ctx?.state.rawBasicSecret as string | undefined;
    const secrets = raw !== undefined && raw !== secret ? [secret, raw] : [secret];
    return await secretMatches(limits, { clientId, secrets, hashes, address: ctx?.ip ?? 'unknown', digest });
  } catch (err) {
    if (!(err instanceof ClientThrottled)) throw err;
    ctx?.set('Retry-After', String(err.retryAfter));
    noteRateLimit(ctx?.state, err.reason);
    throw new RateLimitExceeded(err.retryAfter);
  }
}

const VSCHAR = /^[\x20-\x7e]*$/;

function decodesAsForm(part: string): boolean {
  try {
    return VSCHAR.test(decodeURIComponent(part.replace(/\+/g, '%20')));
  } catch {
    return false;
  }
}

/**
 * HTTP Basic client credentials as clients really send them. RFC 6749 §2.3.1
 * says to form-encode client_id and secret first; curl -u and authlib send
 * them raw. A part that is not valid form-encoding (a raw `%`) is passed on
 * encoded, so oidc-provider reads the raw value; and the raw secret is kept
 * so that `+` (a space, form-decoded) is tried as sent too. Generated
 * secrets have neither character: they cost no second bcrypt check.
 */
export function basicAsSent(routes: ReadonlyMap<string, string>): Koa.Middleware {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (ctx.method !== 'POST' || !routes.has(ctx.path) || !/^basic /i.test(header)) return next();
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i === -1) return next();
    const [id, secret] = [decoded.slice(0, i), decoded.slice(i + 1)];
    if (/[%+]/.test(secret)) ctx.state.rawBasicSecret = secret;
    if (!decodesAsForm(id) || !decodesAsForm(secret)) {
      const asForm = (part: string) => (decodesAsForm(part) ? part : encodeURIComponent(part));
      ctx.request.header.authorization = `Basic ${Buffer.from(`${asForm(id)}:${asForm(secret)}`).toString('base64')}`;
    }
    await next();
  };
}

/**
 * Near the top of keyport's app, before any routing: a source address that
 * failed too often is refused on every client-authenticating route, so a
 * flood from it costs as little as a request can. `routes` are the
 * provider's (clients/client-auth-routes.ts).
 */
export function refuseThrottledAddress(limits: OAuthLimits, routes: ReadonlyMap<string, string>): Koa.Middleware {
  return async (ctx, next) => {
    const route = routes.get(ctx.path);
    if (ctx.method !== 'POST' || !route) return next();
    const wait = await limits.failures.retryAfter({ address: ctx.ip });
    if (wait === 0) return next();
    noteRateLimit(ctx.state, 'auth_failures');
    ctx.state.route = route;
    ctx.status = 429;
    ctx.set({ 'Retry-After': String(wait), 'Cache-Control': 'no-store' });
    ctx.body = { error: 'rate_limit_exceeded', retry_after: wait };
  };
}

/**
 * Around oidc-provider's client-authenticating endpoints: every failed client
 * authentication is counted for its (client, address) and its address; and a
 * 429 gets the body `{"error":"rate_limit_exceeded","retry_after":N}`.
 */
export function oauthGuard(limits: OAuthLimits, routes: ReadonlyMap<string, string>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    if (ctx.method !== 'POST' || !routes.has(ctx.path)) return next();

    await next();

    const body = ctx.body as { error?: string } | undefined;
    if (ctx.status === 401 && body?.error === 'invalid_client') {
      await limits.failures.failed({ address: ctx.ip, clientId: ctx.oidc?.client?.clientId });
    } else if (ctx.status === 429 && body?.error === 'rate_limit_exceeded') {
      ctx.body = { error: 'rate_limit_exceeded', retry_after: Number(ctx.response.get('Retry-After')) || 1 };
    }
  };
}
