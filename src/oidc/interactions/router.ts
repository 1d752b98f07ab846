import Router, { type RouterContext } from '@koa/router';
import { noteRateLimit } from '../../observability/rate-limit-reasons.js';
import { parseBody } from '../../web/body.js';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction, InteractionResults } from 'oidc-provider';
import type { Config } from '../../config.js';
import type { TeamStore } from '../../teams/store.js';
import { keyportMetadata } from '../../clients/metadata.js';
import { isLoopback } from '../../clients/kinds.js';
import { API_RESOURCE } from '../provider.js';
import { pageHeadersFor } from '../../web/html.js';
import { createCsrf } from '../../web/csrf.js';
import type { PasswordSignIn } from '../../access/password-sign-in.js';
import { consentPage, errorPage, loginPage } from './pages.js';
import { isTeamMember } from '../team-members.js';
import { endPreviousAccountSession } from './switch-account.js';
import { ServiceUnavailable } from '../../errors.js';

export interface InteractionDeps {
  readonly config: Config;
  readonly provider: Provider;
  readonly teams: TeamStore;
  readonly passwords: PasswordSignIn;
  /** Key for the CSRF tokens (the first cookie key). */
  readonly csrfKey: string;
}

type Ctx = RouterContext;
type OidcClient = InstanceType<Provider['Client']>;

const WRONG = 'Wrong email or password.';
const OIDC_SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  profile: 'Your name',
  email: 'Your email address',
  offline_access: 'Stay connected when you are away',
};

/**
 * The redirects the pages' form-action allows: the app's registered ones and,
 * RFC 8252 §7.3, the loopback redirect of this request with the port the app
 * listens on now (oidc-provider already checked it against the registered
 * ones, ignoring only a loopback port). No other redirect is added.
 */
function redirectsOf(interaction: Interaction, client: OidcClient): readonly string[] {
  const registered = client.redirectUris ?? [];
  const asked = interaction.params.redirect_uri;
  return typeof asked === 'string' &&
    !registered.includes(asked) &&
    isLoopback(asked) &&
    client.redirectUriAllowed(asked)
    ? [...registered, asked]
    : registered;
}

/** Sign-in and consent pages for the authorization_code flow (oidc-provider interactions). */
export function createInteractionRouter({ config, provider, teams, passwords, csrfKey }: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  const parseForm = parseBody({ enableTypes: ['form'], formLimit: '8kb' });
  const form = (ctx: Ctx, next: Koa.Next) => parseForm(ctx as never, next);

  // CSRF: a token bound to the interaction, which is itself bound to this
  // browser by oidc-provider's interaction cookie (SameSite=Lax).
  const csrf = createCsrf(csrfKey);
  const csrfFor = (uid: string) => csrf.tokenFor(`csrf:${uid}`);
  const render = (ctx: Ctx, status: number, body: string, redirectUris: readonly string[] = []) => {
    ctx.status = status;
    ctx.set(pageHeadersFor(redirectUris));
    ctx.type = 'html';
    ctx.body = body;
  };
  const field = (ctx: Ctx, name: string) => {
    const value = (ctx.request as unknown as { body?: Record<string, unknown> }).body?.[name];
    return typeof value === 'string' ? value : '';
  };

  async function pages(ctx: Ctx, next: Koa.Next) {
    try {
      await next();
    } catch (err) {
      const e = err as {
        statusCode?: number;
        status?: number;
        error?: string;
        error_description?: string;
        message: string;
      };
      // An outage (the database not answering) is a 503 with Retry-After; any other failure a bare 500.
      if (err instanceof ServiceUnavailable) ctx.set(err.headers());
      const status = err instanceof ServiceUnavailable ? 503 : (e.statusCode ?? e.status ?? 500);
      if (status >= 500 && status !== 503) console.error('interaction error:', e.message);
      render(
        ctx,
        status >= 500 && status !== 503 ? 500 : status,
        errorPage(
          status >= 500 ? 'server_error' : (e.error ?? 'invalid_request'),
          status >= 500 ? undefined : (e.error_description ?? e.message),
        ),
      );
    }
  }

  async function checkCsrf(ctx: Ctx, next: Koa.Next) {
    if (!csrf.matches(field(ctx, 'csrf'), `csrf:${ctx.params.uid!}`)) {
      render(
        ctx,
        403,
        errorPage(
          'invalid_request',
          'The form expired or did not come from this page. Go back to the application and start again.',
        ),
      );
      return;
    }
    await next();
  }

  async function details(ctx: Ctx) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) throw Object.assign(new Error('interaction mismatch'), { status: 400 });
    const client = await provider.Client.find(String(interaction.params.client_id));
    if (!client)
      throw Object.assign(new Error('the application is no longer valid'), { status: 400, error: 'invalid_client' });
    return {
      interaction,
      client,
      appName: client.clientName ?? client.clientId,
      redirects: redirectsOf(interaction, client),
    };
  }

  // Consent adds to this interaction's sign-in (merge): replacing it would lose the login that
  // prompt=login asked for, and the person would be sent to sign in again, round and round.
  const finish = async (ctx: Ctx, result: InteractionResults, mergeWithLastSubmission = false) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
    ctx.status = 303;
    ctx.redirect(to);
  };

  router.use(pages);

  router.get('/', async (ctx) => {
    const { interaction, appName, redirects } = await details(ctx);
    const uid = interaction.uid;
    if (interaction.prompt.name === 'login') {
      render(ctx, 200, loginPage({ action: `/interaction/${uid}/login`, csrf: csrfFor(uid), appName }), redirects);
      return;
    }
    const missing = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    // Catalogue scopes are known to oidc-provider both as OIDC scopes and as the API's: list each once.
    const names = [
      ...new Set([...(missing.missingResourceScopes?.[API_RESOURCE] ?? []), ...(missing.missingOIDCScope ?? [])]),
    ].filter((s) => s !== 'openid');
    const scopes = names.map((name) => ({
      name,
      description: (Object.hasOwn(config.scopes, name) ? config.scopes[name] : OIDC_SCOPE_DESCRIPTIONS[name]) ?? name,
    }));
    render(
      ctx,
      200,
      consentPage({
        confirm: `/interaction/${uid}/confirm`,
        abort: `/interaction/${uid}/abort`,
        csrf: csrfFor(uid),
        appName,
        scopes,
      }),
      redirects,
    );
  });

  router.post('/login', form, checkCsrf, async (ctx) => {
    const { interaction, client, appName, redirects } = await details(ctx);
    const teamId = keyportMetadata(client).team_id;
    const result = await passwords.signIn({
      email: field(ctx, 'email'),
      password: field(ctx, 'password'),
      address: ctx.ip,
      // Only people of the team that owns the app sign in to it; others see the same message.
      admit: async (user) => (await isTeamMember(teams, teamId, String(user.id))) || undefined,
    });
    const again = (status: number, error: string) =>
      render(
        ctx,
        status,
        loginPage({
          action: `/interaction/${interaction.uid}/login`,
          csrf: csrfFor(interaction.uid),
          appName,
          email: result.email,
          error,
        }),
        redirects,
      );
    const tooMany = (wait: number) => {
      noteRateLimit(ctx.state, 'sign_in');
      ctx.set('Retry-After', String(wait));
      return again(429, `Too many attempts. Try again in ${wait} seconds.`);
    };
    switch (result.outcome) {
      case 'throttled':
        return tooMany(result.retryAfter);
      case 'busy':
        // The bcrypt gate is full: a refusal for load, not for the attempt (503, as a busy server).
        ctx.set('Retry-After', '1');
        return again(503, 'Too many sign-ins at once. Try again in a second.');
      case 'wrong':
        return again(401, WRONG);
      case 'signed_in':
        await endPreviousAccountSession(provider, interaction, String(result.user.id));
        await finish(ctx, { login: { accountId: String(result.user.id) } });
    }
  });

  router.post('/confirm', form, checkCsrf, async (ctx) => {
    const { interaction, client } = await details(ctx);
    const { accountId } = interaction.session ?? {};
    if (interaction.prompt.name !== 'consent' || !accountId)
      throw Object.assign(new Error('nothing to approve'), { status: 400 });
    if (!(await isTeamMember(teams, keyportMetadata(client).team_id, accountId))) {
      throw Object.assign(new Error('only members of the team that owns this application may approve it'), {
        status: 403,
        error: 'access_denied',
      });
    }
    const missing = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ??
        new provider.Grant({ accountId, clientId: String(interaction.params.client_id) }))
      : new provider.Grant({ accountId, clientId: String(interaction.params.client_id) });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await finish(ctx, { consent: { grantId } }, true);
  });

  router.post('/abort', form, checkCsrf, async (ctx) => {
    await details(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'the person denied access' });
  });

  return router;
}
