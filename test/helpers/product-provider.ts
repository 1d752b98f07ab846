import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** What the product's one person says about themselves; a test changes it between sign-ins. */
export interface ProductAccount {
  sub: string;
  email: string;
  team?: string;
  role?: string;
}

/** How the test makes the product's token answer lie (nothing: the provider's own answer). */
export type IdTokenForgery = 'none' | 'unsigned' | 'wrong_issuer';

export interface ProductProvider {
  readonly issuer: string;
  readonly account: ProductAccount;
  forgery: IdTokenForgery;
  /** Starts answering, with keyport's redirect URI registered (known once keyport listens). */
  open(redirectUri: string): void;
  close(): Promise<void>;
}

/**
 * A second, real OpenID Connect provider (oidc-provider itself) playing the
 * product's: one confidential client (keyport's dashboard), one static
 * account whose claims the test may change, and an interaction that signs
 * that account in and consents at once. It listens on 127.0.0.2, so its
 * cookies never mix with keyport's (127.0.0.1) in a browser.
 */
export async function startProductProvider(options: {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly account: ProductAccount;
}): Promise<ProductProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const issuer = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'product-signing', alg: 'RS256', use: 'sig' };
  const state: ProductProvider = {
    issuer,
    account: options.account,
    forgery: 'none',
    open: (redirectUri) => serve(redirectUri),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const serve = (redirectUri: string) => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: [jwk] },
      cookies: { keys: ['product-cookie-key'] },
      claims: { openid: ['sub'], email: ['email'], profile: ['team', 'role'] },
      // The claims of the granted scopes go into the ID token too, as many products' providers do.
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: async (_ctx, sub) =>
        sub === state.account.sub ? { accountId: sub, claims: async () => ({ ...state.account }) } : undefined,
    });

    // The test's lie, told after the real provider answered: the ID token's signature or issuer is forged.
    provider.use(async (ctx: KoaContextWithOIDC, next) => {
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path !== '/token' || state.forgery === 'none' || !body?.id_token) return;
      const claims = decodeJwt(body.id_token);
      if (state.forgery === 'unsigned') {
        const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
        body.id_token = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      } else {
        body.id_token = await new SignJWT({ ...claims, iss: 'https://impostor.example' })
          .setProtectedHeader(decodeProtectedHeader(body.id_token) as { alg: string })
          .sign(privateKey);
      }
    });

    const handle = provider.callback();
    server.on('request', async (req, res) => {
      if (!req.url?.startsWith('/interaction/')) return handle(req, res);
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        return provider.interactionFinished(req, res, { login: { accountId: state.account.sub } });
      }
      const grant = new provider.Grant({
        accountId: details.session!.accountId,
        clientId: String(details.params.client_id),
      });
      grant.addOIDCScope(String(details.params.scope));
      return provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        {
          mergeWithLastSubmission: true,
        },
      );
    });
  };
  return state;
}
