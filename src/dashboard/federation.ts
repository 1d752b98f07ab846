import type Router from '@koa/router';
import type { ExternalSignInDeps } from './external-sign-in.js';

/** Sign-in with the product's OpenID Connect provider (config: dashboard_oidc). */
export interface ProductSignIn {
  /** The product's name, for the "Sign in with <name>" button. */
  readonly name: string;
  install(router: Router, deps: ExternalSignInDeps): void;
}
