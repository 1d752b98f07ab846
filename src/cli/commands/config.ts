import type { Config } from '../../config.js';
import { configFrom, fail, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

const MASK = '********';

/**
 * The configuration under its file keys (`database_url`, …) with every
 * secret replaced: tokens whole, a database or Redis password inside its URL.
 */
export function maskedConfig(config: Config): Record<string, unknown> {
  let databaseUrl = config.databaseUrl;
  // Every scheme but sqlite: is a URL that may carry a password.
  if (!databaseUrl.startsWith('sqlite:')) {
    const url = new URL(databaseUrl);
    if (url.password) url.password = MASK;
    databaseUrl = url.toString();
  }
  const masked: Record<string, unknown> = {
    ...config,
    databaseUrl,
    // `redis://:pass@host` or `redis+sentinel://:pass@h1,h2/name` (a list of hosts is no WHATWG URL).
    redisUrl: config.redisUrl?.replace(/^([\w+]+:\/\/[^:@/]*:)[^@/]+@/, `$1${MASK}@`),
    adminToken: config.adminToken === undefined ? null : MASK,
    metricsToken: config.metricsToken === undefined ? null : MASK,
    // Nested settings under their file keys too; the product's client secret masked.
    dashboardOidc: config.dashboardOidc && {
      issuer: config.dashboardOidc.issuer,
      client_id: config.dashboardOidc.clientId,
      client_secret: MASK,
      team_claim: config.dashboardOidc.teamClaim,
      role_claim: config.dashboardOidc.roleClaim,
      name: config.dashboardOidc.name,
      scope: config.dashboardOidc.scope,
    },
    handoff: undefined,
    handoffKeys: config.handoff?.keys,
    handoffIssuer: config.handoff?.issuer,
    handoffAudience: config.handoff?.audience,
    // Grouped in the code, flat in the file: printed under the file's names.
    productRoles: undefined,
    roles: config.productRoles,
    webhooks: undefined,
    webhookAllowPrivateAddresses: config.webhooks.allowPrivateAddresses,
    webhookPollMs: config.webhooks.pollMs,
    webhookTimeoutMs: config.webhooks.timeoutMs,
    webhookRetryBaseMs: config.webhooks.retryBaseMs,
    webhookRetryForMs: config.webhooks.retryForMs,
    githubSecretScanning: undefined,
    githubSecretScanningKeysUrl: config.githubSecretScanning.keysUrl,
    githubSecretScanningKeysFile: config.githubSecretScanning.keysFile,
    githubSecretScanningKeysRefreshSeconds: config.githubSecretScanning.refreshSeconds,
    // Derived, not settings.
    listensOnLoopbackOnly: undefined,
    issuerIsSet: undefined,
  };
  return Object.fromEntries(
    Object.entries(masked).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]),
  );
}

export const configCommand = () =>
  keyportCommand('config', 'print the effective configuration (file, then environment), secrets masked').action(
    (flags: CommonFlags) => {
      try {
        process.stdout.write(`${JSON.stringify(maskedConfig(configFrom(flags)), null, 2)}\n`);
      } catch (err) {
        fail(err, flags.json === true);
      }
    },
  );
