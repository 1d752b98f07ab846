import { z } from 'zod';
import { declareRoute, type RouteDeclaration } from '../web/route.js';

/** The most calls one lease may hold. */
export const MAX_LEASE = 1000;

/** A key as it may arrive: printable ASCII, at most 4096 characters (keyport's keys are under 60, JWT access tokens about 1,000). */
const key = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII with no spaces');

/** The body of POST /keys/verify (docs/contract.md); JSON or a form, so numbers may come as text. */
export const verifyRequest = z.strictObject({
  key: key.meta({ description: 'an API key, or an OAuth access token' }),
  cost: z.coerce.number().int().min(0).max(1000).default(1),
  scopes: z
    .union([
      z.array(z.string().min(1).max(100)).max(50),
      z
        .string()
        .max(2000)
        .transform((s) => s.split(' ').filter(Boolean)),
    ])
    .default([]),
  permissions: z
    .union([
      z.array(z.string().min(1).max(101)).max(50),
      z
        .string()
        .max(5100)
        .transform((s) => s.split(' ').filter(Boolean)),
    ])
    .default([])
    .meta({ description: 'permissions (resource:action) the call needs, every one granted by the key or its roles' }),
  ip: z
    .string()
    .max(64)
    .regex(/^[0-9A-Fa-f:.]+$/, 'must be an IP address')
    .optional()
    .meta({
      description:
        "the API caller's address, as the resource server saw it; absent: the resource server's own (checked against the key's allowed_ips)",
    }),
  lease: z.coerce.number().int().min(0).max(MAX_LEASE).default(0),
  leased_calls: z.coerce.number().int().min(0).max(1_000_000).default(0),
  // The caller's own credentials, when not sent with Basic (checked before the body is, as at introspection).
  client_id: z.unknown().optional().meta({ description: "the resource server's client_id, if not sent with Basic" }),
  client_secret: z.unknown().optional().meta({ description: "the resource server's secret, if not sent with Basic" }),
});

/** The most verifications one batch may hold. */
export const MAX_BATCH = 50;

/** The body of POST /keys/verify/batch: verifications as POST /keys/verify takes them, answered in order. */
export const verifyBatchRequest = z.strictObject({
  items: z
    .array(verifyRequest.omit({ client_id: true, client_secret: true }))
    .min(1)
    .max(MAX_BATCH)
    .meta({ description: "each a body of POST /keys/verify (without the caller's credentials)" }),
  client_id: z.unknown().optional().meta({ description: "the resource server's client_id, if not sent with Basic" }),
  client_secret: z.unknown().optional().meta({ description: "the resource server's secret, if not sent with Basic" }),
});

/** The most keys one usage report may name. */
export const MAX_REPORTED_KEYS = 1000;

const reportedCalls = z.int().min(1).max(1_000_000);

/**
 * The body of POST /keys/usage: calls a guard allowed from its leases, by the
 * SHA-256 of each key, or by client (the calls of a client's leases, made
 * with its keys or its access tokens).
 */
export const usageReport = z.strictObject({
  leased_calls: z
    .array(
      z.union([
        z.strictObject({
          key_digest: z
            .string()
            .regex(/^[A-Za-z0-9_-]{43}$/, 'must be the SHA-256 of the key, base64url without padding')
            .meta({ description: 'the SHA-256 of the key, base64url' }),
          calls: reportedCalls,
        }),
        z.strictObject({
          client_id: z
            .string()
            .min(1)
            .max(64)
            .meta({ description: "the client whose lease served the calls (its keys' or its access tokens')" }),
          calls: reportedCalls,
        }),
      ]),
    )
    .min(1)
    .max(MAX_REPORTED_KEYS),
  client_id: z.unknown().optional().meta({ description: "the resource server's client_id, if not sent with Basic" }),
  client_secret: z.unknown().optional().meta({ description: "the resource server's secret, if not sent with Basic" }),
});

const details = {
  client_id: z.string(),
  team_id: z.int().nullable(),
  environment: z.string(),
  scopes: z.array(z.string()),
  permissions: z
    .array(z.string())
    .meta({ description: "what the key may do now: its own permissions and its roles', wildcards as held" }),
  name: z.string().nullable(),
  expires_at: z.iso.datetime().nullable(),
  ratelimit: z.object({ limit: z.int(), remaining: z.int(), reset: z.int() }).nullable(),
  credits: z.object({ remaining: z.int() }).nullable(),
  retry_after: z.int().optional().meta({ description: 'RATE_LIMITED only: seconds until the window has room' }),
  meta: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .meta({ description: "VALID only: the key's own metadata (null: none)" }),
  allowed_ips: z.array(z.string()).optional().meta({
    description:
      "VALID only, when the key has an allowlist: its addresses and ranges (a guard's lease serves only the verified address)",
  }),
  message: z
    .string()
    .optional()
    .meta({ description: 'FORBIDDEN_IP only: "the address … is not allowed to use this key"' }),
  lease: z
    .object({ calls: z.int(), ttl_ms: z.int() })
    .optional()
    .meta({ description: 'VALID only: calls the guard may allow on its own, already spent' }),
};

/** Always 200 to an authenticated caller; `valid` only with VALID. */
export const verifyAnswer = z.discriminatedUnion('code', [
  z.object({ valid: z.literal(false), code: z.literal('NOT_FOUND') }),
  z.object({
    valid: z.boolean(),
    code: z.enum([
      'VALID',
      'EXPIRED',
      'REVOKED',
      'RATE_LIMITED',
      'USAGE_EXCEEDED',
      'INSUFFICIENT_SCOPE',
      'INSUFFICIENT_PERMISSIONS',
      'NO_API_ACCESS',
      'FORBIDDEN_IP',
    ]),
    ...details,
  }),
]);

export const KEYS_ROUTES = {
  verify: declareRoute({
    method: 'post',
    path: '/keys/verify',
    summary: 'Whether a key (or an access token) may make this API call, spending `cost` of its budget',
    security: 'basic',
    body: verifyRequest,
    bodyTypes: ['application/json', 'application/x-www-form-urlencoded'],
    status: 200,
    response: verifyAnswer,
    errors: [400, 401, 429],
  }),
  verifyBatch: declareRoute({
    method: 'post',
    path: '/keys/verify/batch',
    summary: `Up to ${MAX_BATCH} verifications in one round trip (a guard's lease renewals), each answered as /keys/verify answers it`,
    security: 'basic',
    body: verifyBatchRequest,
    status: 200,
    response: z.object({ items: z.array(verifyAnswer).meta({ description: "the items' answers, in their order" }) }),
    errors: [400, 401, 429],
  }),
  usage: declareRoute({
    method: 'post',
    path: '/keys/usage',
    summary: "Calls a guard allowed from its leases: counted in each key's usage (nothing is spent)",
    security: 'basic',
    body: usageReport,
    status: 200,
    response: z.object({
      counted: z.int().meta({ description: 'calls counted (digests of no API key, and unknown clients, are ignored)' }),
    }),
    errors: [400, 401, 429],
  }),
  events: declareRoute({
    method: 'get',
    path: '/keys/events',
    summary: 'Server-sent events: `data: {"client_id":…}` when a key changed, `: beat` after each quiet read',
    security: 'basic',
    status: 200,
    responseType: 'text/event-stream',
    errors: [401, 429],
  }),
} satisfies Record<string, RouteDeclaration>;
