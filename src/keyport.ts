import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createClientLoader } from './oidc/client-loader.js';
import { createProvider } from './oidc/provider.js';
import { installTokenRevocationChange } from './oidc/overrides/install-token-revocation-change.js';
import { createJwtAccessTokens } from './oidc/jwt-access-tokens.js';
import { keysVersion, loadOrCreateKeys, readKeys, type KeyMaterial } from './persistence/signing-keys.js';
import { openServices, type Services } from './services.js';
import { createUsageRecorder, type UsageRecorder } from './clients/usage.js';
import { createKeyUsage, type KeyUsage } from './clients/key-usage.js';
import { createSqlKeyUsage } from './persistence/sql/key-usage.js';
import { createSqlUsageCounts } from './persistence/sql/usage-counts.js';
import { createRedis } from './persistence/redis.js';
import { createKeyInspector, createKeyVerifier, type FindAccessToken } from './verification/verify.js';
import { createKeysRouter } from './keys-api/router.js';
import { createLeasedCallsRecorder } from './verification/leased-calls.js';
import { KEYS_ROUTES } from './keys-api/routes.js';
import { createKeyEventHub } from './events/key-events.js';
import { createAuditStreams } from './audit/audit-stream.js';
import { createShareRouter, settleExpiredShares } from './share-pages/router.js';
import { createDashboardRouter } from './dashboard/router.js';
import { createDashboardSessions } from './dashboard/sessions.js';
import { createConsoleRouter } from './console/router.js';
import { createStaffSessions } from './staff/sessions.js';
import { createStaffSignIn } from './access/staff-sign-in.js';
import { createTotpSealer } from './staff/totp.js';
import { createExternalSignInRouter } from './dashboard/external-sign-in.js';
import { createProductSignIn } from './dashboard/federation.js';
import { createPlanLimits } from './limits/plan-limits.js';
import { createSqlPlanCounters } from './persistence/sql/plan-counters.js';
import type { OAuthLimits } from './oidc/oauth-guard.js';
import { createAuthFailures } from './limits/auth-failures.js';
import { createBcryptGate } from './limits/bcrypt-gate.js';
import { createSqlWindowCounters } from './persistence/sql/window-counters.js';
import { createRedisWindowCounters } from './persistence/redis/window-counters.js';
import { createSharedVerifications, createVerifiedSecrets } from './clients/verified-secrets.js';
import { createRedisVerificationMarks } from './persistence/redis/verification-marks.js';
import { verificationMarksWithFallback, windowCountersWithFallback } from './persistence/redis/with-fallback.js';
import { createSqlSessionStore } from './persistence/sql/session-store.js';
import { createCallerAuth, type AccessTokenLookup } from './access/callers.js';
import { createPasswordSignIn } from './access/password-sign-in.js';
import { providerAccessTokens, providerClients } from './oidc/access-lookups.js';
import { createAdminRouter } from './admin/router.js';
import type { AdminState } from './admin/state.js';
import type Router from '@koa/router';
import { createInteractionRouter } from './oidc/interactions/router.js';
import { createSignInThrottle } from './limits/sign-in-throttle.js';
import { createLogger, type Logger, type LogOutput } from './observability/logger.js';
import { createMetrics, shareWithPrimary, type Metrics } from './observability/metrics.js';
import { startJobs } from './jobs/sweeps.js';
import type { Clock } from './clock.js';
import { createSecretBox } from './events/webhook-secrets.js';
import { createWebhookEndpoints } from './events/webhook-endpoints.js';
import { startWebhookDelivery } from './jobs/webhook-delivery.js';
import { startReminderJob, type ReminderJob } from './jobs/reminder-schedule.js';
import { createSmtpMailer } from './jobs/mailer.js';
import { webhookDisabledMailer } from './jobs/webhook-disabled-mail.js';
import { createSqlReminderStore } from './persistence/sql/reminder-store.js';
import { createKnexUnitOfWork } from './persistence/sql/unit-of-work.js';
import type { KeyExpiringSubscriber } from './events/key-expiring.js';
import {
  createKeyExpiringWebhookSubscriber,
  createKeyExpiredWebhookSubscriber,
} from './events/key-expiring-webhook.js';
import { createLeakRouter } from './keys-api/leak-router.js';
import { LEAK_ROUTES } from './keys-api/leak-routes.js';
import { createGithubKeys } from './keys-api/github-keys.js';
import { leakedKeyMailer } from './jobs/leaked-key-mail.js';
import { createLimitNotices, type LimitNotices } from './events/limit-notices.js';
import { createSqlLimitNoticeStore } from './persistence/sql/limit-notice-store.js';

export interface Keyport extends Services {
  /** The provider now serving requests (replaced when the signing keys change). */
  readonly provider: Provider;
  readonly app: Koa;
  readonly adminRouter: Router<AdminState>;
  /** The request listener for node:http; always routes to the current app. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly usage: UsageRecorder;
  /** Direct API-key calls per hour by outcome, and source addresses. */
  readonly keyUsage: KeyUsage;
  readonly limits: OAuthLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The expiry reminders (30, 7, 1 days; grace ends): `run()` is one pass, as the timer makes. */
  readonly reminders: Pick<ReminderJob, 'run'>;
  /** One pass of the expired one-time links' settling, as the sweep makes: how many were due. */
  readonly settleExpiredShares: () => Promise<number>;
  /** `key.rate_limited` and `credits.low`: `settle()` waits for the notices being written. */
  readonly limitNotices: Pick<LimitNotices, 'settle'>;
  /** Marks responses `Connection: close` from now on (graceful shutdown). */
  draining: boolean;
  /** Set on SIGTERM: /readyz answers 503 so load balancers take this process out, while it still serves. */
  stopping: boolean;
}

/**
 * Everything a server process needs, wired together; no module-level state.
 * `clock`: time as the services and sweeps read it (a test moves it by hand);
 * `logOutput`: where log lines go instead of stdout; `onKeyExpiring`: more
 * `key.expiring` subscribers (a test's, or another surface's).
 */
export async function createKeyport(
  config: Config,
  {
    clock: given,
    logOutput,
    onKeyExpiring = [],
  }: { clock?: Clock; logOutput?: LogOutput; onKeyExpiring?: readonly KeyExpiringSubscriber[] } = {},
): Promise<Keyport> {
  const logger = createLogger(config, logOutput);
  const services = await openServices(config, { clock: given });
  const usage = createUsageRecorder(createSqlUsageCounts(services.db, services.clock), {
    flushEveryMs: config.usageFlushSeconds * 1000,
    onError: (err) =>
      logger.error({ err: { message: err.message } }, 'writing key usage failed; retrying with the next flush'),
  });
  const redis = createRedis(config, (up) =>
    up
      ? logger.info('redis answers again: throttles and shared verifications are back in Redis')
      : logger.warn('redis is failing: keyport is degraded, throttles are kept in the database until it answers'),
  );
  await redis?.connected();
  // Budgets are counted in the database, Redis or not: it is the record, so a
  // Redis restart or failover cannot hand a key a fresh budget (issue 23).
  const planCounters = createSqlPlanCounters(services.db);
  const databaseCounters = createSqlWindowCounters(services.db);
  const windowCounters = redis
    ? windowCountersWithFallback(redis.breaker, createRedisWindowCounters(redis.client), databaseCounters)
    : databaseCounters;
  const keyUsageStore = createSqlKeyUsage(services.db, services.clock);
  const keyUsage = createKeyUsage(keyUsageStore, {
    flushEveryMs: config.usageFlushSeconds * 1000,
    onError: (err) =>
      logger.error({ err: { message: err.message } }, 'writing API key usage failed; retrying with the next flush'),
  });
  const limits: OAuthLimits = {
    plans: createPlanLimits(planCounters, config, services.clock),
    failures: createAuthFailures(windowCounters, config),
    // As many checks as libuv has threads to run them (bcrypt runs there).
    bcrypt: createBcryptGate({
      maxInFlight: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      ipv6Prefix: config.ipv6ThrottlePrefix,
    }),
    verified: createVerifiedSecrets(),
    shared: redis
      ? createSharedVerifications(
          verificationMarksWithFallback(redis.breaker, createRedisVerificationMarks(redis.client)),
          () => current.keys.cookieKeys[0]!,
        )
      : undefined,
    keyUsage,
  };
  const metrics = createMetrics({
    db: services.db,
    bcrypt: limits.bcrypt,
    redis,
    buffers: { usage, key_usage: keyUsage },
  });
  shareWithPrimary(metrics);
  const loadClient = createClientLoader(config, services.readClients);
  const { audit, clock } = services;
  const signIns = createSignInThrottle(windowCounters, limits.failures, config.ipv6ThrottlePrefix);
  const passwords = createPasswordSignIn({ teams: services.teams, signIns, bcryptGate: limits.bcrypt });
  const staffSessions = createStaffSessions(services.staffStore, clock);
  const staffSignIn = createStaffSignIn({ store: services.staffStore, signIns, bcryptGate: limits.bcrypt });
  const dashboardSessions = createDashboardSessions(createSqlSessionStore(services.db), clock, {
    maxSeconds: config.dashboardSessionMaxSeconds,
  });
  const { externalTeams } = services;
  // Keys and the product's provider are read once, at start, not per request.
  const externalSignInRouter =
    config.handoff || config.dashboardOidc
      ? createExternalSignInRouter({
          config,
          teams: services.teams,
          externalTeams,
          sessions: dashboardSessions,
          audit: services.audit,
          productSignIn: config.dashboardOidc && createProductSignIn(config, config.dashboardOidc),
        })
      : undefined;
  const state = { draining: false, stopping: false };
  const auditStreams = createAuditStreams(audit, {
    onError: (err) => logger.error({ err: { message: err.message } }, 'reading audit events for a stream failed'),
  });
  // One per process, across signing-key reloads: the guards' streams stay open.
  const keyEvents = createKeyEventHub(services.keyEventStore, {
    clock,
    onError: (err) =>
      logger.error(
        { err: { message: err.message } },
        'reading key changes failed; guards stop trusting their caches until it works',
      ),
  });

  // Endpoint secrets are sealed under the cookie keys in use (read at each call: they may be reloaded).
  const webhookSecrets = createSecretBox(() => current.keys.cookieKeys);
  const webhooks = createWebhookEndpoints({
    store: services.webhookStore,
    secrets: webhookSecrets,
    allowPrivateAddresses: config.webhooks.allowPrivateAddresses,
    clock,
  });
  // `key.rate_limited` and `credits.low` (issue 26 item 4), written beside /keys/verify's answer, never before it.
  const limitNoticeStore = createSqlLimitNoticeStore(services.db, config.creditsLowThreshold);
  const limitNotices = createLimitNotices({
    unitOfWork: createKnexUnitOfWork(services.db),
    store: limitNoticeStore,
    webhooks: services.webhookStore,
    clock,
    creditsLowThreshold: config.creditsLowThreshold,
    onError: (err) =>
      logger.error({ err: { message: err.message } }, 'announcing a rate-limited key or low credits failed'),
  });

  // One SMTP transport for keyport's mail: expiry reminders, disabled webhook endpoints, leaked keys.
  const mailer = config.smtpUrl ? createSmtpMailer(config.smtpUrl, config.mailFrom) : undefined;

  // Leaked keys (issue 28 item 4): GitHub's keys are read once and kept across signing-key reloads.
  const mailLeakedKeys = leakedKeyMailer(config, services.teams, mailer, logger);
  const leakRouter = createLeakRouter({
    leaks: services.leakReports((notices) => {
      for (const n of notices)
        logger.warn(
          { client_id: n.clientId, team_id: n.teamId, scanner: n.scanner, action: n.action, source: n.source },
          n.action === 'revoked' ? 'a leaked key was revoked' : 'a leaked key was flagged; it still works',
        );
      mailLeakedKeys(notices);
    }),
    githubKeys: createGithubKeys({
      url: config.githubSecretScanning.keysUrl,
      file: config.githubSecretScanning.keysFile,
      refreshSeconds: config.githubSecretScanning.refreshSeconds,
      onError: (err) =>
        logger.error(
          { err: { message: err.message } },
          "reading GitHub's secret-scanning keys failed; keeping those read before",
        ),
    }),
    adminToken: config.adminToken,
  });

  // What depends on the signing keys: rebuilt, whole, when they change.
  const surface = (keys: KeyMaterial) => {
    const jwtTokens = createJwtAccessTokens({
      issuer: config.issuer,
      jwks: keys.jwks,
      revoked: services.revokedTokens,
      clockToleranceSeconds: config.clockSkewSeconds,
    });
    const provider = createProvider({
      config,
      db: services.db,
      readDb: services.readDb,
      keys,
      loadClient,
      usage,
      limits,
      teams: services.teams,
      clients: services.clients,
      revokeKey: (clientId) => services.clientService.revoke(clientId),
      roles: services.roles,
      keyEvents: services.keyEventStore,
      jwtTokens,
      revokedTokens: services.revokedTokens,
      now: () => clock.now(),
    });
    installTokenRevocationChange(provider, { keyEvents: services.keyEventStore, now: () => clock.now() });
    const accessTokens = providerAccessTokens(provider, config.scopes, jwtTokens);
    const adminRouter = createAdminRouter({
      callers: createCallerAuth({
        adminToken: config.adminToken,
        tokens: accessTokens,
        keys: createKeyInspector({ config, clients: services.readClients }),
        clients: providerClients(provider),
        teams: services.teams,
        syncTokens: services.syncTokens,
      }),
      plans: limits.plans,
      clientService: services.clientService,
      audit,
      failures: limits.failures,
      keyUsage,
      shares: services.shares,
      auditStreams,
      teamService: services.teamService,
      webhooks,
      teamSync: services.teamSync,
      syncTokens: services.syncTokens,
      documentedRoutes: [...Object.values(KEYS_ROUTES), ...Object.values(LEAK_ROUTES)],
      leakStore: services.leakStore,
      roles: services.roles,
    });
    const verifier = createKeyVerifier({
      config,
      clients: services.readClients,
      plans: limits.plans,
      usage,
      keyUsage,
      findAccessToken: accessTokenFinder(accessTokens),
      notices: limitNotices,
      clock,
      roles: services.roles,
    });
    const shareRouter = createShareRouter({
      shares: services.shares,
      audit,
      ipv6Prefix: config.ipv6ThrottlePrefix,
      findClient: (clientId) => services.clients.findById(clientId),
    });
    const keysRouter = createKeysRouter({
      verifier,
      leasedCalls: createLeasedCallsRecorder({ clients: services.clients, usage, keyUsage }),
      clients: services.readClients,
      secrets: limits,
      failures: limits.failures,
      events: keyEvents,
      plans: limits.plans,
    });
    const interactionRouter = createInteractionRouter({
      config,
      provider,
      teams: services.teams,
      passwords,
      csrfKey: keys.cookieKeys[0]!,
    });
    const dashboardRouter = createDashboardRouter({
      config,
      teams: services.teams,
      teamService: services.teamService,
      clientService: services.clientService,
      audit,
      keyUsage,
      sessions: dashboardSessions,
      passwords,
      csrfKey: keys.cookieKeys[0]!,
      webhooks,
      roles: services.roles,
    });
    const consoleRouter = createConsoleRouter({
      config,
      teams: services.teams,
      externalTeams: services.externalTeams,
      clients: services.clients,
      teamService: services.teamService,
      clientService: services.clientService,
      audit,
      webhookStore: services.webhookStore,
      metrics,
      staff: services.staff,
      sessions: staffSessions,
      signIn: staffSignIn,
      // The TOTP secrets are sealed under the first cookie key: rotating the cookie keys means re-enrolling staff.
      totp: createTotpSealer(keys.cookieKeys[0]!),
      csrfKey: keys.cookieKeys[0]!,
    });
    const app = createApp({
      config,
      db: services.db,
      redis,
      provider,
      adminRouter,
      keysRouter,
      leakRouter,
      shareRouter,
      dashboardRouter,
      consoleRouter,
      externalSignInRouter,
      interactionRouter,
      logger,
      metrics,
      state,
    });
    return { keys, version: keysVersion(config.keysDir), provider, adminRouter, app, callback: app.callback() };
  };
  let current = surface(await loadOrCreateKeys(config.keysDir));

  // Reads KEYS_DIR again; when the keys changed, new requests go to a provider built with them.
  const reloadKeys = () => {
    const version = keysVersion(config.keysDir);
    if (version === current.version) return;
    const keys = readKeys(config.keysDir);
    if (!keys) throw new Error(`no signing or cookie keys in ${config.keysDir}`);
    const kids = (k: KeyMaterial) => k.jwks.keys.map((key) => key.kid).join(',');
    if (kids(keys) === kids(current.keys) && keys.cookieKeys.join() === current.keys.cookieKeys.join()) {
      current = { ...current, version };
      return;
    }
    current = surface(keys);
    logger.info(
      { signing_kid: keys.jwks.keys[0]?.kid, published_kids: keys.jwks.keys.map((k) => k.kid) },
      'signing keys reloaded',
    );
  };
  const keyWatch = setInterval(() => {
    try {
      reloadKeys();
    } catch (err) {
      logger.error(
        { err: { message: (err as Error).message } },
        'reading the signing keys failed; keeping the current ones',
      );
    }
  }, config.keysReloadSeconds * 1000);
  keyWatch.unref();

  const settleShares = () =>
    settleExpiredShares(services.shares, (link) => services.clientService.revokeUndelivered(link), audit, clock);
  const jobs = startJobs({
    config,
    clock,
    keyEventStore: services.keyEventStore,
    revokedTokens: services.revokedTokens,
    passedTimes: services.passedTimes,
    onPassedTime: createKeyExpiredWebhookSubscriber(services.webhookStore, clock),
    db: services.db,
    logger,
    windowCounters,
    planCounters,
    keyUsageStore,
    deleteEndedLimitWindows: (beforeS) => limitNoticeStore.deleteEndedWindows(beforeS),
    settleExpiredShares: settleShares,
  });

  const webhookDelivery = startWebhookDelivery({
    config,
    store: services.webhookStore,
    secrets: webhookSecrets,
    clock,
    logger,
    onDisabled: webhookDisabledMailer(config, services.teams, mailer),
  });

  // `key.expiring` subscribers, each called in the transaction that announces a reminder:
  // the webhook outbox (issue 26 item 4), and those handed in.
  const keyExpiringSubscribers: KeyExpiringSubscriber[] = [
    createKeyExpiringWebhookSubscriber(services.webhookStore, clock),
    ...onKeyExpiring,
  ];
  const reminders = startReminderJob({
    config,
    clock,
    logger,
    store: createSqlReminderStore(services.db),
    clients: services.clients,
    teams: services.teams,
    unitOfWork: createKnexUnitOfWork(services.db),
    mailer,
    onKeyExpiring: keyExpiringSubscribers,
  });

  return {
    ...services,
    reminders: { run: () => reminders.run() },
    settleExpiredShares: settleShares,
    limitNotices: { settle: () => limitNotices.settle() },
    get provider() {
      return current.provider;
    },
    get app() {
      return current.app;
    },
    get adminRouter() {
      return current.adminRouter;
    },
    handle: (req, res) => void current.callback(req, res),
    usage,
    keyUsage,
    limits,
    logger,
    metrics,
    get draining() {
      return state.draining;
    },
    set draining(value: boolean) {
      state.draining = value;
      // Open event streams would hold the server open: end them; guards reconnect elsewhere.
      if (value) {
        keyEvents.close();
        auditStreams.close();
      }
    },
    get stopping() {
      return state.stopping;
    },
    set stopping(value: boolean) {
      state.stopping = value;
    },
    async close() {
      clearInterval(keyWatch);
      jobs.stop();
      await webhookDelivery.stop();
      await reminders.stop();
      await limitNotices.settle();
      keyEvents.close();
      auditStreams.close();
      await Promise.all([usage.close(), keyUsage.close()]);
      await Promise.all([services.close(), redis?.close()]);
      // Lines still buffered are written before the process may exit.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}

/** An OAuth access token (client credentials or an app's) given where a key may be, as verify needs it. */
function accessTokenFinder(tokens: AccessTokenLookup): FindAccessToken {
  return async (value) => {
    // An opaque token is short; a JWT access token (RFC 9068) about 1,000 characters.
    if (value.length > 4096) return undefined;
    const token = await tokens.find(value);
    return (
      token && { clientId: token.clientId, scope: token.scope, forApis: token.forApis, expiresAt: token.expiresAt }
    );
  };
}
