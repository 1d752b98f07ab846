import { z } from 'zod';
import { InvalidRequest } from '../errors.js';

const name = z.string().min(1).max(200);
const scopes = z.array(z.string().min(1).max(100)).max(50);
const environment = z.enum(['prod', 'dev']);
const expiresInDays = z.int().min(1).max(3650);
const publicKey = z.union([z.string().max(16_384), z.record(z.string(), z.unknown())]);
/** Usage credits of a key used directly (docs/contract.md); null removes them (unlimited). */
const credits = z
  .strictObject({
    remaining: z.int().min(0),
    refill: z
      .strictObject({ interval: z.enum(['day', 'month']), amount: z.int().min(1) })
      .nullable()
      .optional(),
  })
  .nullable();

/** Hand the secret over as a one-time link (docs/contract.md): the answer has share_url, no client_secret. */
const share = z.strictObject({ ttl_seconds: z.int().optional(), revoke_if_unopened: z.boolean().optional() });

/** POST /api/teams/:team/clients: one shape per kind. */
export const newClientSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('service_account'),
    name: name.optional(),
    environment: environment.optional(),
    expires_in_days: expiresInDays.optional(),
    scopes: scopes.optional(),
    client_secret: z.string().max(200).optional(),
    credits: credits.optional(),
    share: share.optional(),
  }),
  z.strictObject({
    kind: z.literal('service_account_jwt'),
    name: name.optional(),
    environment: environment.optional(),
    expires_in_days: expiresInDays.optional(),
    scopes: scopes.optional(),
    public_key: publicKey,
    credits: credits.optional(),
  }),
  z.strictObject({
    kind: z.literal('app'),
    name,
    scopes: scopes.optional(),
    redirect_uris: z.array(z.string().max(2000)).min(1).max(10).optional(),
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
});

/** POST /api/teams/:team/clients/:client_id/secret */
export const newSecretSchema = z.strictObject({
  client_secret: z.string().max(200).optional(),
  grace_period_seconds: z
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  share: share.optional(),
});

/** POST /api/teams/:team/clients/:client_id/keys */
export const newPublicKeySchema = z.strictObject({
  public_key: publicKey,
  kid: z.string().min(1).max(100).optional(),
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

/** Parses `value`, or throws `invalid_request` naming the first bad field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.') || 'body';
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
  throw new InvalidRequest(field, message);
}
