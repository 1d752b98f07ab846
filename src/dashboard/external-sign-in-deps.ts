import type { AuditStore } from '../audit/audit.js';
import type Router from '@koa/router';
import type { Config } from '../config.js';
import type { ExternalTeamStore } from '../teams/external-people.js';
import type { TeamStore } from '../teams/store.js';
import type { DashboardSessions } from './sessions.js';

export interface ExternalSignInDeps {
  readonly config: Config;
  readonly teams: TeamStore;
  readonly externalTeams: ExternalTeamStore;
  readonly sessions: DashboardSessions;
  readonly audit: AuditStore;
  /** Set with `dashboard_oidc`: sign-in with the product's OpenID Connect provider. */
  readonly productSignIn?: ProductSignIn;
}

/** Sign-in with the product's OpenID Connect provider (config: dashboard_oidc). */
export interface ProductSignIn {
  /** The product's name, for the "Sign in with <name>" button. */
  readonly name: string;
  install(router: Router, deps: ExternalSignInDeps): void;
}
