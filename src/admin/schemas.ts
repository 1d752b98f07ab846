import { z } from 'zod';
import { CLIENT_LIMITS as LIMITS } from '../clients/limits.js';
import { ENVIRONMENTS } from '../clients/client.js';

/** The admin API's input schemas; every bound is the domain's (clients/limits.ts). */
const name = z.string().min(1).max(LIMITS.nameLength);
const scopes = z.array(z.string().min(1).max(LIMITS.scopeLength)).max(LIMITS.scopesCount);
const environment = z.enum(ENVIRONMENTS);
const expiresInDays = z.int().min(1).max(LIMITS.expiresInDaysMax);
const publicKey = z
  .union([z.string().max(LIMITS.publicKeyLength), z.record(z.string(), z.unknown())])
  .meta({ description: 'PEM, JWK or JWKS of one public key' });
const clientSecret = z.string().max(LIMITS.chosenSecretLength.max).meta({
  description:
    'three of: upper, lower, digit, other. A chosen secret is not an API key: it works only at /token (client credentials)',
});

// --- Permissions and roles (issue 28 item 2) ---
const permissionList = z.array(z.string().min(1).max(101)).max(LIMITS.permissionsCount).meta({
  description:
    'permissions as resource:action (projects:read); wildcards: projects:* (every action), *:read (every resource)',
});
const roleIds = z
  .array(z.union([z.string().min(1).max(64), z.int().transform(String)]))
  .max(LIMITS.rolesCount)
  .meta({ description: "role ids: the product's (GET /api/teams/:team/roles) or the team's own" });
/** What a key may do beside its scopes: its own permissions and its roles (replaced whole by PATCH). */
const keyRights = { permissions: permissionList.optional(), roles: roleIds.optional() };
/** ALM Octane's roles of a key: `{"data": [{"type": "workspace_role", "id": "1028"}]}`. */
const workspaceRoles = z.strictObject({
  data: z
    .array(
      z.strictObject({
        type: z.literal('workspace_role'),
        id: z.union([z.string().min(1).max(64), z.int().transform(String)]),
      }),
    )
    .max(LIMITS.rolesCount),
});
/** A team's own role, POST /api/teams/:team/roles; PATCH takes either field. */
export const newRoleSchema = z.strictObject({
  name: z.string().min(1).max(LIMITS.roleNameLength),
  permissions: permissionList.default([]),
});
export const roleChangesSchema = z.strictObject({
  name: z.string().min(1).max(LIMITS.roleNameLength).optional(),
  permissions: permissionList.optional(),
});
// --- end permissions and roles ---

/** ALM Octane's create body (its document 003): one key per request here, so a refusal creates nothing. */
const octaneKey = z.strictObject({
  client_secret: clientSecret.optional(),
  name,
  expiration: z.iso.datetime({ offset: true }).optional().meta({ description: "Octane's expiry date" }),
  workspace_roles: workspaceRoles
    .optional()
    .meta({ description: "the key's roles, as ALM Octane names them: each id a role of GET /api/teams/:team/roles" }),
});
/** Usage credits of a key used directly (docs/contract.md); null removes them (unlimited). */
const credits = z
  .strictObject({
    remaining: z.int().min(0).max(LIMITS.creditsMax),
    refill: z
      .strictObject({ interval: z.enum(['day', 'month']), amount: z.int().min(1).max(LIMITS.creditsMax) })
      .nullable()
      .optional(),
  })
  .nullable();

/** The key's own metadata (docs/contract.md): a JSON object; its size and depth are checked by clients/meta.ts. */
const meta = z
  .record(z.string(), z.unknown())
  .nullable()
  .meta({
    description: `a JSON object of your own, returned with the key by every read, /keys/verify, introspection and the guard: at most ${LIMITS.metaBytes} bytes as JSON, nested at most ${LIMITS.metaDepth} levels; null: none`,
  });

/** The key's address allowlist (docs/contract.md); each entry is parsed by clients/allowed-ips.ts. */
const allowedIps = z
  .array(z.string().max(100))
  .max(LIMITS.allowedIpsCount)
  .nullable()
  .meta({
    description: `IPv4/IPv6 addresses and CIDR ranges the key may be used from (at /token, /keys/verify and guards), at most ${LIMITS.allowedIpsCount}; [] or null: anywhere`,
  });

/** Hand the secret over as a one-time link (docs/contract.md): the answer has share_url, no client_secret. */
const share = z.strictObject({ ttl_seconds: z.int().optional(), revoke_if_unopened: z.boolean().optional() });

/** POST /api/teams/:team/clients: one shape per kind; without `kind`, a service account (BugBrain's body names none). */
export const newClientSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('service_account').default('service_account'),
    name: name.optional(),
    environment: environment.optional(),
    expires_in_days: expiresInDays.optional(),
    scopes: scopes.optional(),
    client_secret: clientSecret.optional(),
    credits: credits.optional(),
    meta: meta.optional(),
    ...keyRights,
    allowed_ips: allowedIps.optional(),
    share: share.optional(),
    data: z
      .array(octaneKey)
      .min(1)
      .max(1, 'one key per request')
      .optional()
      .meta({ description: "ALM Octane's form, alone: the answer is then a page of {type, id, client_id, is_valid}" }),
  }),
  z.strictObject({
    kind: z.literal('service_account_jwt'),
    name: name.optional(),
    environment: environment.optional(),
    expires_in_days: expiresInDays.optional(),
    scopes: scopes.optional(),
    public_key: publicKey,
    credits: credits.optional(),
    meta: meta.optional(),
    ...keyRights,
    allowed_ips: allowedIps.optional(),
  }),
  z.strictObject({
    kind: z.literal('app'),
    name,
    scopes: scopes.optional(),
    redirect_uris: z.array(z.string().max(LIMITS.redirectUriLength)).min(1).max(LIMITS.redirectUrisCount).optional(),
    meta: meta.optional(),
    ...keyRights,
    allowed_ips: allowedIps.optional(),
    share: share.optional(),
  }),
]);
export type NewClientBody = z.infer<typeof newClientSchema>;

/** PATCH /api/teams/:team/clients/:client_id */
export const clientChangesSchema = z.strictObject({
  name: name.optional(),
  scopes: scopes.optional(),
  is_valid: z.literal(false, { error: 'only false is accepted: regenerate the secret to revive a key' }).optional(),
  credits: credits.optional(),
  meta: meta.optional(),
  ...keyRights,
  allowed_ips: allowedIps.optional(),
});

/** PUT /api/teams/:team/clients/:client_id, ALM Octane's: false revokes, true regenerates (same client_id). */
export const octaneChangeSchema = z.strictObject({
  is_valid: z.boolean(),
  client_secret: clientSecret.optional(),
});

/** POST /api/teams/:team/clients/:client_id/secret */
export const newSecretSchema = z.strictObject({
  client_secret: clientSecret.optional(),
  grace_period_seconds: z.int().min(0).max(LIMITS.gracePeriodSecondsMax).optional(),
  share: share.optional(),
});

/** POST /api/teams/:team/clients/:client_id/keys */
export const newPublicKeySchema = z.strictObject({
  public_key: publicKey,
  kid: z.string().min(1).max(LIMITS.kidLength).optional(),
});

/** GET …/usage?from&to&granularity: epoch seconds or ISO 8601 times; hourly or daily buckets. */
const when = z.union([
  z.coerce.number().int().min(0),
  z.iso.datetime({ offset: true }).transform((t) => Math.floor(Date.parse(t) / 1000)),
]);
export const usageRangeSchema = z.object({
  from: when.optional(),
  to: when.optional(),
  granularity: z.enum(['hour', 'day']).default('hour'),
});

/** ?limit=&offset= on lists. */
export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
