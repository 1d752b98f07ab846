import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ownEntries } from './names.js';

/**
 * Every setting keyport reads, its default and why. A JSON file (`-conf FILE`
 * or `KEYPORT_CONF`) may set any key below; the environment variables of
 * docs/contract.md override the file. Validation runs at start and names each bad key.
 */

/**
 * A permission (issue 28 item 2): `resource:action`, lower-case words, either
 * part `*` for every one (`projects:*`, `*:read`).
 */
export const PERMISSION_PATTERN = /^(?:[a-z][a-z0-9_-]{0,49}|\*):(?:[a-z][a-z0-9_-]{0,49}|\*)$/;
/** A product role's id: starts with a letter (the teams' own roles have numeric ids, so the two never meet). */
const ROLE_ID_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** The read-only preset every product has (issue 28 item 2), unless `roles` defines `read_only` itself. */
export const READ_ONLY_ROLE = { name: 'Read only', permissions: ['*:read'] } as const;

const productRoleSchema = z
  .object({
    name: z.string().min(1).max(100),
    permissions: z
      .array(z.string().regex(PERMISSION_PATTERN, 'must be resource:action (either part may be *)'))
      .max(50),
  })
  .strict();

/** Requests a client may make per window (minute, hour, day by default). */
const limitsSchema = z.tuple([z.int().min(1), z.int().min(1), z.int().min(1)]);

const planSchema = z
  .object({
    /** Whether the team may hold API credentials at all. */
    api_access: z.boolean(),
    /** How many valid (not revoked, not expired) keys a team may hold. */
    max_keys: z.int().min(0).default(10),
    /** Requests per client over each rate-limit window. */
    rate_limits: limitsSchema.default([30, 500, 5000]),
    /** The same for `dev` keys; unset: a tenth of rate_limits (at least 1 each). */
    dev_rate_limits: limitsSchema.optional(),
    /** Whose budget rate_limits are: each key's (unset: 'key') or the team's, shared by all its keys. */
    limit_per: z.enum(['key', 'team']).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    port: z.int().min(0).max(65535).default(3000),
    /**
     * The address to listen on (`HOST`). Loopback by default, so a fresh `npm start` is reachable
     * only from this host; `0.0.0.0` or `::` for every interface (containers, a load balancer
     * elsewhere). Beyond loopback, GET /metrics answers only with `metrics_token` set.
     */
    listen_address: z
      .union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IPv4 or IPv6 address or localhost' })
      .default('127.0.0.1'),
    /** Server processes sharing the port and the database; default one per core. */
    workers: z.int().min(1).max(64).default(availableParallelism()),
    /** Public base URL, the `iss` of every token. Default: http://localhost:$PORT. */
    issuer: z.url({ protocol: /^https?$/ }).optional(),
    /** `sqlite:PATH`, `mysql://user:pass@host:3306/db` or `postgres://user:pass@host:5432/db`. */
    database_url: z
      .string()
      .regex(
        /^(sqlite:|mysql:\/\/|postgres:\/\/|postgresql:\/\/)/,
        'must start with sqlite:, mysql://, postgres:// or postgresql://',
      )
      .default('sqlite:./data/keyport.sqlite'),
    /**
     * Optional read replica of `database_url` (`DATABASE_READ_URL`), same kind of server:
     * `mysql://…` or `postgres://…`. Only the hot reads go there (a client by id, a key by
     * its digest, an access token by its value); a miss there is read again on the primary,
     * so a row just written is never answered as missing while the replica lags. Everything
     * that must be exact (limits, budgets, credits, single use, reveals, writes, transactions)
     * stays on the primary. A revoke reaches these reads when the replica replays it.
     */
    database_read_url: z
      .string()
      .regex(/^(mysql:\/\/|postgres:\/\/|postgresql:\/\/)/, 'must start with mysql://, postgres:// or postgresql://')
      .optional(),
    /**
     * Optional shared store for hot, short-lived state (failure and sign-in
     * throttles, shared bcrypt verifications), shared by every process and
     * host. Budgets and used assertion ids are always in the database, the
     * record. Unset, or while Redis fails: all of it is kept in the database.
     * `redis://` or `rediss://` names one Redis; `redis+sentinel://[:password@]
     * host:port[,host:port…]/<master-name>` names Redis Sentinels, and keyport
     * follows their failovers (persistence/redis/sentinel-url.ts).
     */
    redis_url: z
      .string()
      .regex(
        /^(?:rediss?:\/\/|redis\+sentinel:\/\/(?:[^@/]*@)?[\w.-]+(?::\d{1,5})?(?:,[\w.-]+(?::\d{1,5})?)*\/[\w.-]+$)/,
        'must start with redis:// or rediss://, or be redis+sentinel://[:password@]host:port[,host:port…]/<master-name>',
      )
      .optional(),
    /** Prefix of every Redis key keyport writes, so deployments (or tests) can share one Redis. */
    redis_key_prefix: z
      .string()
      .regex(/^[\w:.-]{1,64}$/)
      .default('keyport:'),
    /**
     * How long one Redis command may take before keyport gives up on it and
     * uses the database instead (a frozen Redis never holds a request).
     */
    redis_command_timeout_ms: z.int().min(10).max(5000).default(250),
    /** Redis failures in a row that open the breaker: keyport stops calling Redis and uses the database. */
    redis_breaker_failures: z.int().min(1).max(100).default(3),
    /** While the breaker is open, how often keyport probes Redis (PING) to close it again. */
    redis_probe_interval_ms: z.int().min(100).max(60_000).default(1000),
    /** Signing keys and cookie keys; created on first start, never committed. */
    keys_dir: z.string().min(1).default('./keys'),
    /** Operator token for the admin API; unset means no operator token. */
    admin_token: z.string().min(32, 'must be at least 32 characters').optional(),
    /** The scope catalogue: name → what it allows. Clients may only be given these. */
    scopes: z
      .record(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'scope names are RFC 6749 §3.3 scope-tokens'), z.string())
      .default({
        'api:read': 'Read access to the API',
        'api:write': 'Write access to the API',
        'keys:manage': 'Manage the team’s API keys through the admin API',
      }),
    /** First word of every new key (`<prefix>_sk_<env>_…`), so a product issues keys in its own name. */
    key_prefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,15}$/, 'must be 1 to 16 lower-case letters and digits, starting with a letter')
      .default('keyport'),
    /**
     * The permission catalogue (issue 28 item 2): `resource:action` → what it
     * allows, checked by /keys/verify and the guard beside scopes. Keys and
     * roles may only be given these, or wildcards over them (`projects:*`,
     * `*:read`); empty: any well-formed `resource:action`.
     */
    permissions: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_-]{0,49}:[a-z][a-z0-9_-]{0,49}$/, 'must be resource:action, with no *'),
        z.string(),
      )
      .default({}),
    /**
     * The product's roles, offered to every team: id → {name, permissions}.
     * Ids start with a letter (teams' own roles are numbered). `read_only`
     * (every `*:read`) exists unless defined here.
     */
    roles: z
      .record(z.string().regex(ROLE_ID_PATTERN, 'role ids are lower-case, start with a letter'), productRoleSchema)
      .default({}),
    /** Scopes a new client gets when none are asked for. */
    default_scopes: z.array(z.string()).default(['api:read']),
    /**
     * Plans. Only plans with api_access may hold keys (RFC-free business rule:
     * starter and growth are UI-only; pro and enterprise include the API).
     */
    plans: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/), planSchema).default({
      starter: { api_access: false, max_keys: 10, rate_limits: [30, 500, 5000] },
      growth: { api_access: false, max_keys: 10, rate_limits: [60, 1000, 10_000] },
      pro: { api_access: true, max_keys: 10, rate_limits: [120, 5000, 50_000] },
      enterprise: { api_access: true, max_keys: 10, rate_limits: [600, 20_000, 200_000] },
    }),
    /** The rate-limit windows, in seconds (tests shorten them). */
    rate_limit_windows_seconds: z.tuple([z.int().min(1), z.int().min(1), z.int().min(1)]).default([60, 3600, 86_400]),
    /** Resource servers belong to no plan: their introspections are limited by this. */
    resource_server_rate_limits: limitsSchema.default([6000, 200_000, 2_000_000]),
    /**
     * Failed client authentications allowed per client_id and per source
     * address within the window before answers are 429, before any bcrypt work.
     */
    auth_failures: z
      .object({ per_client: z.int().min(1), per_address: z.int().min(1), window_seconds: z.int().min(1) })
      .strict()
      .default({ per_client: 20, per_address: 100, window_seconds: 300 }),
    /**
     * The longest a private_key_jwt assertion may live (RFC 7523 §3). An hour,
     * as Python authlib signs them by default; each jti is kept until its
     * assertion expires, so a longer lifetime never allows a replay.
     */
    max_assertion_lifetime_seconds: z.int().min(30).max(86_400).default(3600),
    /** How far a client's clock may disagree with keyport's, for exp, iat and nbf. */
    clock_skew_seconds: z.int().min(0).max(300).default(30),
    /** Lifetime of access tokens (client credentials and apps). One hour, as most APIs do. */
    access_token_ttl_seconds: z.int().min(60).max(86_400).default(3600),
    /** Lifetime of an authorization code shown on the oob page, where a person copies it by hand. */
    oob_code_ttl_seconds: z.int().min(60).max(3600).default(600),
    /** How often recorded key usage (last_used_at, usage_count) is written; at most 5 s of lag. */
    usage_flush_seconds: z.number().min(0.1).max(5).default(1),
    /** How often expired token rows are deleted, in batches. */
    expired_rows_sweep_seconds: z.int().min(1).default(60),
    /**
     * How often each process looks for keys whose expires_at or rotation
     * grace period just ended, and pushes each as one change to the guards
     * (GET /keys/events); several processes push each moment once.
     */
    /**
     * However active, a dashboard session ends this long after its sign-in
     * (an idle one ends after 30 minutes): a stolen cookie ages out.
     */
    dashboard_session_max_seconds: z
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(12 * 3600),
    expiry_push_seconds: z.number().min(0.1).max(60).default(1),
    /** pino level of the JSON logs on stdout: one line per request at info. */
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Bearer token that GET /metrics requires; unset: /metrics is open (keep it off the public network). */
    metrics_token: z.string().min(32, 'must be at least 32 characters').optional(),
    /** On SIGTERM: how long requests in flight may take before the process exits anyway. */
    shutdown_timeout_seconds: z.number().min(0).max(300).default(10),
    /**
     * On SIGTERM, /readyz answers 503 at once and keyport keeps serving this
     * long before it drains, so a load balancer takes it out first and no
     * new connection is refused or reset.
     */
    shutdown_delay_seconds: z.number().min(0).max(300).default(0),
    /**
     * Proxies (load balancers) in front of keyport that append to
     * X-Forwarded-For. 0: the peer address is the client's. N: the Nth
     * address from the right is, so per-address limits and logs see clients,
     * not the load balancer, and a client cannot forge its own.
     */
    trusted_proxies: z.int().min(0).max(10).default(0),
    /**
     * Per-address throttles (failed authentications, sign-in, anonymous
     * requests) count an IPv6 source by its network of this many bits: one
     * host is usually given a whole /64. 128: each address alone. An
     * IPv4-mapped IPv6 address is counted as its IPv4 address.
     */
    ipv6_throttle_prefix: z.int().min(16).max(128).default(64),
    /**
     * The longest keyport waits on the database (MySQL/MariaDB, PostgreSQL) for one
     * statement, for a pooled connection, and to connect. Past it the
     * request answers 503 with Retry-After (never hangs, never a 500), and
     * usage counted in memory waits for the next write.
     */
    database_timeout_ms: z.int().min(100).max(60_000).default(5000),
    /**
     * How long an idle kept-alive connection stays open (Node alone: 5 s).
     * Behind a load balancer it must be longer than the balancer's idle
     * timeout, or the balancer sends requests down connections keyport has
     * just closed: 65 s suits the common 60 s (AWS ALB, GCP, nginx 60 s).
     * The headers timeout is set one second above it.
     */
    keep_alive_timeout_seconds: z.number().min(1).max(3600).default(65),
    /**
     * Stop (draining as on SIGTERM) when the process that started keyport
     * exits. Unset: only when started through npm (`npm start`, `npx`), which
     * exit on SIGTERM without passing it on. A plain `node … serve` under
     * nohup, setsid or a process manager keeps running.
     */
    stop_with_parent: z.boolean().optional(),
    /** How often each process looks for new or retired signing keys in keys_dir. */
    keys_reload_seconds: z.number().min(0.1).max(3600).default(5),
    /**
     * Webhook endpoints may point at loopback, link-local and private
     * addresses, and use http:// (server-side request forgery: off unless the
     * receivers are on the operator's own network). Checked on the resolved
     * addresses, at registration and at each delivery.
     */
    webhook_allow_private_addresses: z.boolean().default(false),
    /** How often each process looks for webhook deliveries that are due. */
    webhook_poll_ms: z.int().min(10).max(60_000).default(1000),
    /** The longest a webhook endpoint may take to answer; past it the attempt failed and is retried. */
    webhook_timeout_ms: z.int().min(100).max(30_000).default(5000),
    /** The first retry's wait; each next one waits twice as long (capped at an hour). */
    webhook_retry_base_ms: z.int().min(1).max(3_600_000).default(30_000),
    /** How long a delivery is retried, and an endpoint may fail, before it gives up (and the endpoint is disabled). */
    webhook_retry_for_ms: z
      .int()
      .min(1)
      .max(7 * 86_400_000)
      .default(86_400_000),
    /**
     * `credits.low`: a key's credits are low when a call leaves fewer than this many
     * (told once per crossing: again only after they are set or refilled). 0: never.
     */
    credits_low_threshold: z.int().min(0).max(1_000_000_000).default(100),
    /**
     * The SMTP relay for mail to team admins (expiry reminders): `smtp://host:port`
     * (STARTTLS when the relay offers it), `smtps://host:465`, with `user:pass@`
     * if it asks. Unset: no mail is sent (logged once at start); reminders are
     * still recorded and `key.expiring` still announced.
     */
    smtp_url: z
      .string()
      .regex(/^smtps?:\/\/[^/\s]+\/?$/, 'must be smtp://[user:pass@]host:port or smtps://…')
      .optional(),
    /** The From of keyport's mail. Default: keyport@ the issuer's host name. */
    mail_from: z.string().min(3).max(320).optional(),
    /**
     * How often each process looks for keys expiring in 30, 7 or 1 days (or whose
     * rotation grace ends within a day) and mails their team's admins. Each
     * reminder is sent once, whatever the number of processes.
     */
    reminder_check_seconds: z.number().min(1).max(86_400).default(300),
    /**
     * The product's public key(s) for signed hand-offs to the dashboard
     * (`GET /dashboard/handoff?token=…`): a PEM public key, or the path of a
     * file holding a JWKS (`{"keys": […]}`) or a PEM. Unset: no hand-off.
     */
    handoff_keys: z.string().min(1).optional(),
    /** The `iss` the product signs its hand-offs with; required with handoff_keys. */
    handoff_issuer: z.string().min(1).optional(),
    /** The `aud` a hand-off must name. Default: the issuer followed by `/dashboard`. */
    handoff_audience: z.string().min(1).optional(),
    /**
     * Sign in to the dashboard with the product's own OpenID Connect provider
     * (authorization code with PKCE, state and nonce; openid-client). The
     * provider registers keyport's `ISSUER/dashboard/oidc/callback` as the
     * redirect URI. `team_claim` and `role_claim` name the ID token (or
     * userinfo) claims that carry the team's external id and the role
     * (`admin` or `member`); `name` is the product's name on the button.
     */
    dashboard_oidc: z
      .object({
        issuer: z.url({ protocol: /^https?$/ }),
        client_id: z.string().min(1),
        client_secret: z.string().min(1),
        team_claim: z.string().min(1).default('team'),
        role_claim: z.string().min(1).default('role'),
        name: z.string().min(1).max(60).default('your product'),
        scope: z.string().min(1).default('openid email profile'),
      })
      .strict()
      .optional(),
    /** False: the dashboard offers no email-and-password sign-in (only the product's). */
    dashboard_password_sign_in: z.boolean().default(true),
    /**
     * Where GitHub publishes the keys that sign its secret-scanning reports
     * (`POST /secret-scanning/github`, issue 28 item 4). Read when a report
     * names a key identifier not yet known, at most once per
     * `github_secret_scanning_keys_refresh_seconds`.
     */
    github_secret_scanning_keys_url: z
      .url({ protocol: /^https?$/ })
      .default('https://api.github.com/meta/public_keys/secret_scanning'),
    /**
     * A file holding that list instead (`{"public_keys": [{"key_identifier", "key"}]}`): for tests
     * and closed networks; then nothing is fetched.
     */
    github_secret_scanning_keys_file: z.string().min(1).optional(),
    /** The shortest time between two reads of GitHub's key list (an unknown key identifier asks for one). */
    github_secret_scanning_keys_refresh_seconds: z.number().min(0).max(86_400).default(60),
  })
  .strict()
  .superRefine((value, ctx) => {
    const family = (url: string) => (url.startsWith('postgres') ? 'postgres' : url.split(':')[0]);
    if (value.database_read_url && family(value.database_read_url) !== family(value.database_url)) {
      ctx.addIssue({
        code: 'custom',
        path: ['database_read_url'],
        message: 'must name a replica of database_url, the same kind of database server',
      });
    }
    if ((value.handoff_keys === undefined) !== (value.handoff_issuer === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['handoff_issuer'],
        message: 'handoff_keys and handoff_issuer go together',
      });
    }
    const known = Object.keys(value.permissions);
    const resources = new Set(known.map((p) => p.slice(0, p.indexOf(':'))));
    for (const [id, role] of Object.entries(value.roles)) {
      for (const [i, permission] of role.permissions.entries()) {
        const [resource, action] = permission.split(':');
        const listed =
          known.length === 0 ||
          Object.hasOwn(value.permissions, permission) ||
          resource === '*' ||
          (action === '*' && resources.has(resource!));
        if (!listed)
          ctx.addIssue({
            code: 'custom',
            path: ['roles', id, 'permissions', i],
            message: `"${permission}" is not in the permission catalogue (permissions)`,
          });
      }
    }
    for (const scope of value.default_scopes) {
      if (!Object.hasOwn(value.scopes, scope)) {
        ctx.addIssue({ code: 'custom', path: ['default_scopes'], message: `"${scope}" is not in the scope catalogue` });
      }
    }
  });

export type PlanSettings = z.infer<typeof planSchema>;

/** The config file's keys (`keyport config` prints the effective settings under these names). */
export const CONFIG_FILE_KEYS: readonly string[] = Object.keys(fileSchema.shape);

/** The settings as the code reads them: camelCase, each derived from its key above. */
const configSchema = fileSchema.transform((c) => ({
  port: c.port,
  listenAddress: c.listen_address,
  /** Whether only this host can reach the server: then /metrics may be open. */
  listensOnLoopbackOnly: isLoopback(c.listen_address),
  workers: c.workers,
  issuer: (c.issuer ?? `http://localhost:${c.port}`).replace(/\/$/, ''),
  /** False when the issuer is only guessed from PORT: a process other than the server cannot know it. */
  issuerIsSet: c.issuer !== undefined,
  databaseUrl: c.database_url,
  databaseReadUrl: c.database_read_url,
  keysDir: c.keys_dir,
  redisUrl: c.redis_url,
  redisKeyPrefix: c.redis_key_prefix,
  redisCommandTimeoutMs: c.redis_command_timeout_ms,
  redisBreakerFailures: c.redis_breaker_failures,
  redisProbeIntervalMs: c.redis_probe_interval_ms,
  adminToken: c.admin_token,
  keyPrefix: c.key_prefix,
  scopes: ownEntries(c.scopes),
  defaultScopes: c.default_scopes,
  /** The permission catalogue; empty: any well-formed `resource:action` (clients/permissions.ts). */
  permissions: ownEntries(c.permissions),
  /** The product's roles, with the read-only preset. */
  productRoles: ownEntries({ read_only: READ_ONLY_ROLE, ...c.roles }),
  plans: ownEntries(c.plans),
  accessTokenTtlSeconds: c.access_token_ttl_seconds,
  oobCodeTtlSeconds: c.oob_code_ttl_seconds,
  maxAssertionLifetimeSeconds: c.max_assertion_lifetime_seconds,
  clockSkewSeconds: c.clock_skew_seconds,
  expiredRowsSweepSeconds: c.expired_rows_sweep_seconds,
  expiryPushSeconds: c.expiry_push_seconds,
  dashboardSessionMaxSeconds: c.dashboard_session_max_seconds,
  usageFlushSeconds: c.usage_flush_seconds,
  rateLimitWindowsSeconds: c.rate_limit_windows_seconds,
  resourceServerRateLimits: c.resource_server_rate_limits,
  authFailures: c.auth_failures,
  logLevel: c.log_level,
  metricsToken: c.metrics_token,
  shutdownTimeoutSeconds: c.shutdown_timeout_seconds,
  shutdownDelaySeconds: c.shutdown_delay_seconds,
  keysReloadSeconds: c.keys_reload_seconds,
  databaseTimeoutMs: c.database_timeout_ms,
  keepAliveTimeoutSeconds: c.keep_alive_timeout_seconds,
  stopWithParent: c.stop_with_parent,
  trustedProxies: c.trusted_proxies,
  ipv6ThrottlePrefix: c.ipv6_throttle_prefix,
  webhooks: {
    allowPrivateAddresses: c.webhook_allow_private_addresses,
    pollMs: c.webhook_poll_ms,
    timeoutMs: c.webhook_timeout_ms,
    retryBaseMs: c.webhook_retry_base_ms,
    retryForMs: c.webhook_retry_for_ms,
  },
  creditsLowThreshold: c.credits_low_threshold,
  smtpUrl: c.smtp_url,
  mailFrom: c.mail_from ?? `keyport@${new URL(c.issuer ?? 'http://localhost').hostname}`,
  reminderCheckSeconds: c.reminder_check_seconds,
  handoff: c.handoff_keys
    ? {
        keys: c.handoff_keys,
        issuer: c.handoff_issuer!,
        audience: c.handoff_audience ?? `${(c.issuer ?? `http://localhost:${c.port}`).replace(/\/$/, '')}/dashboard`,
      }
    : undefined,
  dashboardOidc: c.dashboard_oidc && {
    issuer: c.dashboard_oidc.issuer,
    clientId: c.dashboard_oidc.client_id,
    clientSecret: c.dashboard_oidc.client_secret,
    teamClaim: c.dashboard_oidc.team_claim,
    roleClaim: c.dashboard_oidc.role_claim,
    name: c.dashboard_oidc.name,
    scope: c.dashboard_oidc.scope,
  },
  dashboardPasswordSignIn: c.dashboard_password_sign_in,
  githubSecretScanning: {
    keysUrl: c.github_secret_scanning_keys_url,
    keysFile: c.github_secret_scanning_keys_file,
    refreshSeconds: c.github_secret_scanning_keys_refresh_seconds,
  },
}));

/** 127.0.0.0/8, ::1 and localhost (RFC 6890; localhost resolves to them, RFC 6761 §6.3). */
function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address) || /^::ffff:127\./i.test(address);
}

/** Written once: the type is the schema's output, so a setting cannot be declared in one place and missing in another. */
export type Config = Readonly<z.output<typeof configSchema>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables of docs/contract.md and the file key each one overrides. */
const ENV_KEYS = {
  PORT: 'port',
  HOST: 'listen_address',
  KEYPORT_WORKERS: 'workers',
  ISSUER: 'issuer',
  DATABASE_URL: 'database_url',
  DATABASE_READ_URL: 'database_read_url',
  KEYS_DIR: 'keys_dir',
  KEYPORT_ADMIN_TOKEN: 'admin_token',
  LOG_LEVEL: 'log_level',
  KEYPORT_METRICS_TOKEN: 'metrics_token',
  KEYPORT_TRUSTED_PROXIES: 'trusted_proxies',
  KEYPORT_SHUTDOWN_DELAY_SECONDS: 'shutdown_delay_seconds',
  KEYPORT_KEY_PREFIX: 'key_prefix',
  KEYPORT_DATABASE_TIMEOUT_MS: 'database_timeout_ms',
  KEYPORT_KEEP_ALIVE_TIMEOUT_SECONDS: 'keep_alive_timeout_seconds',
  KEYPORT_STOP_WITH_PARENT: 'stop_with_parent',
  REDIS_URL: 'redis_url',
  KEYPORT_SMTP_URL: 'smtp_url',
  KEYPORT_MAIL_FROM: 'mail_from',
  KEYPORT_GITHUB_SECRET_SCANNING_KEYS_FILE: 'github_secret_scanning_keys_file',
} as const;

const NUMERIC_KEYS: ReadonlySet<string> = new Set([
  'port',
  'workers',
  'trusted_proxies',
  'shutdown_delay_seconds',
  'database_timeout_ms',
  'keep_alive_timeout_seconds',
]);

const BOOLEAN_KEYS: ReadonlySet<string> = new Set(['stop_with_parent']);

/** `true`/`1`/`yes` and `false`/`0`/`no`; anything else is left as text for the schema to name. */
const booleanOf = (value: string) =>
  /^(true|1|yes)$/i.test(value) ? true : /^(false|0|no)$/i.test(value) ? false : value;

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Path of the JSON file; falls back to KEYPORT_CONF. */
  readonly file?: string;
  /** Settings given by code (tests); they override file and environment. */
  readonly overrides?: Record<string, unknown>;
}

export function loadConfig({ env = process.env, file, overrides = {} }: LoadConfigOptions = {}): Config {
  const path = file ?? env.KEYPORT_CONF;
  const raw: Record<string, unknown> = path ? readConfigFile(path) : {};

  for (const [variable, key] of Object.entries(ENV_KEYS)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    raw[key] = NUMERIC_KEYS.has(key) ? Number(value) : BOOLEAN_KEYS.has(key) ? booleanOf(value) : value;
  }
  Object.assign(raw, overrides);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path.length ? issue.path.join('.') : '(root)';
      const variable = Object.entries(ENV_KEYS).find(([, k]) => k === issue.path[0])?.[0];
      return `${key}${variable ? ` (or ${variable})` : ''}: ${issue.message}`;
    });
    // One bad key: one line an operator reads at once; several: one line each.
    throw new ConfigError(
      lines.length === 1 ? `invalid configuration: ${lines[0]}` : `invalid configuration:\n  ${lines.join('\n  ')}`,
    );
  }

  return parsed.data;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}
