import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { deleteExpiredPayloads } from './oidc/adapter.js';
import { createClientLoader } from './oidc/client-loader.js';
import { createProvider } from './oidc/provider.js';
import { loadOrCreateKeys } from './oidc/signing-keys.js';
import { openServices, type Services } from './services.js';
import { createUsageRecorder, type UsageRecorder } from './clients/usage.js';
import { createPlanLimits, deleteIdleCounters } from './limits/plan-limits.js';
import type { OAuthLimits } from './limits/oauth-guard.js';
import { createAuthFailures } from './limits/auth-failures.js';
import { createBcryptGate } from './limits/bcrypt-gate.js';
import { deleteExpiredCounters } from './limits/store.js';
import { createVerifiedSecrets } from './clients/verified-secrets.js';
import { createKnexAuditStore } from './admin/audit.js';
import { createCallerAuth } from './admin/callers.js';
import { createAdminRouter, type AdminState } from './admin/router.js';
import type Router from '@koa/router';
import { createInteractionRouter } from './interactions/router.js';
import { createLoginThrottle } from './interactions/login-throttle.js';

export interface Keyport extends Services {
  readonly provider: Provider;
  readonly app: Koa;
  readonly adminRouter: Router<AdminState>;
  readonly usage: UsageRecorder;
  readonly limits: OAuthLimits;
}

/** Everything a server process needs, wired together; no module-level state. */
export async function createKeyport(config: Config): Promise<Keyport> {
  const services = await openServices(config);
  const keys = await loadOrCreateKeys(config.keysDir);
  const usage = createUsageRecorder(services.db, { flushEveryMs: config.usageFlushSeconds * 1000 });
  const limits = {
    plans: createPlanLimits(services.db, config),
    failures: createAuthFailures(services.db, config),
    // As many checks as libuv has threads to run them (bcrypt runs there).
    bcrypt: createBcryptGate({ maxInFlight: Number(process.env.UV_THREADPOOL_SIZE) || 4 }),
    verified: createVerifiedSecrets(),
  };
  const provider = createProvider({ config, db: services.db, keys, loadClient: createClientLoader(config, services.clients), usage, limits });
  const adminRouter = createAdminRouter({
    callers: createCallerAuth({ config, provider, teams: services.teams, plans: limits.plans }),
    plans: limits.plans,
    clientService: services.clientService,
    audit: createKnexAuditStore(services.db),
  });
  const interactionRouter = createInteractionRouter({ config, provider, teams: services.teams, throttle: createLoginThrottle(), failures: limits.failures, csrfKey: keys.cookieKeys[0]! });
  const app = createApp({ config, provider, adminRouter, interactionRouter });

  const sweeper = setInterval(() => {
    deleteExpiredPayloads(services.db).catch((err) => console.error('deleting expired tokens failed:', (err as Error).message));
    deleteExpiredCounters(services.db).catch((err) => console.error('deleting expired rate-limit counters failed:', (err as Error).message));
    deleteIdleCounters(services.db, config).catch((err) => console.error('deleting idle plan counters failed:', (err as Error).message));
  }, config.expiredRowsSweepSeconds * 1000);
  sweeper.unref();

  return {
    ...services,
    provider,
    app,
    adminRouter,
    usage,
    limits,
    async close() {
      clearInterval(sweeper);
      await usage.close();
      await services.close();
    },
  };
}
