import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { Config } from '../config.js';
import { admitExternalPerson } from '../teams/external-people.js';
import type { ExternalSignInDeps, ProductSignIn } from './external-sign-in-deps.js';
import { refusalPage, unreachablePage } from './refusals.js';
import { signInAdmitted } from './admitted.js';

type Settings = NonNullable<Config['dashboardOidc']>;

/** state, nonce and the PKCE verifier of one sign-in, kept in a signed, HttpOnly cookie for ten minutes. */
const FLOW_COOKIE = 'kp_dashboard_oidc';
const FLOW_SECONDS = 10 * 60;

/**
 * The dashboard as a relying party of the product's provider: authorization
 * code with PKCE (S256), state and nonce, all checked by openid-client
 * (which also refuses an unsigned ID token, a bad signature and a wrong
 * issuer or audience). The team and role come from the claims named in the
 * settings, read from the ID token and, for any it lacks, from userinfo.
 */
export function createProductSignIn(config: Config, settings: Settings): ProductSignIn {
  const redirectUri = `${config.issuer}/dashboard/oidc/callback`;
  const plainHttp = settings.issuer.startsWith('http:');
  // Discovered at the first sign-in, not at start: the product's provider may start after keyport.
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () =>
    (discovered ??= oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        { redirect_uris: [redirectUri], id_token_signed_response_alg: 'RS256' },
        oidc.ClientSecretBasic(settings.clientSecret),
        plainHttp ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      }));
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.issuer.startsWith('https:'),
    path: '/dashboard/oidc',
    signed: true,
    overwrite: true,
  };

  async function start(ctx: Context) {
    const flow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const provider = await configuration().catch(() => undefined);
    if (!provider) return unreachablePage(ctx, settings.name);
    const url = oidc.buildAuthorizationUrl(provider, {
      redirect_uri: redirectUri,
      scope: settings.scope,
      response_type: 'code',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
    });
    ctx.cookies.set(FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), {
      ...cookieOptions,
      maxAge: FLOW_SECONDS * 1000,
    });
    ctx.redirect(url.href);
  }

  async function callback(ctx: Context, deps: ExternalSignInDeps) {
    const flow = flowOf(ctx.cookies.get(FLOW_COOKIE, { signed: true }));
    // One use: the flow cookie goes whatever the outcome.
    ctx.cookies.set(FLOW_COOKIE, '', { ...cookieOptions, maxAge: 0 });
    if (!flow) return refusalPage(ctx, 'oidc_flow');
    const provider = await configuration().catch(() => undefined);
    if (!provider) return unreachablePage(ctx, settings.name);
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(provider, new URL(ctx.originalUrl, config.issuer), {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = { ...tokens.claims() };
      const wanted = [settings.teamClaim, settings.roleClaim, 'email'];
      if (wanted.some((name) => claims[name] === undefined)) {
        const info = await oidc.fetchUserInfo(provider, tokens.access_token, String(claims.sub));
        claims = { ...info, ...claims };
      }
    } catch {
      // A provider's error, a state or nonce mismatch, an unsigned or forged ID token: no session.
      return refusalPage(ctx, 'oidc_refused');
    }
    const admission = await admitExternalPerson(deps, {
      teamExternalId: claims[settings.teamClaim],
      email: claims.email,
      role: claims[settings.roleClaim],
    });
    if (admission.outcome === 'refused') return refusalPage(ctx, admission.reason);
    await signInAdmitted(ctx, deps, admission, 'product_sign_in');
  }

  return {
    name: settings.name,
    install(router, deps) {
      router.get('/oidc/start', start);
      router.get('/oidc/callback', (ctx) => callback(ctx, deps));
    },
  };
}

function flowOf(cookie: string | undefined): { state: string; nonce: string; verifier: string } | undefined {
  if (!cookie) return undefined;
  try {
    const flow = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { state, nonce, verifier } = flow;
    return typeof state === 'string' && typeof nonce === 'string' && typeof verifier === 'string'
      ? { state, nonce, verifier }
      : undefined;
  } catch {
    return undefined;
  }
}
