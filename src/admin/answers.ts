import { z } from 'zod';
import { CLIENT_KINDS, ENVIRONMENTS } from '../clients/client.js';
import { OUTCOMES } from '../clients/key-usage-store.js';

/**
 * The admin API's answers. Each route's answer is stripped to its schema
 * (web/route.ts): a field not declared here never leaves the server, so a
 * read can never return a secret or a hash by accident.
 */
const time = z.iso.datetime();

const credits = z.object({
  remaining: z.int(),
  refill: z.object({ interval: z.enum(['day', 'month']), amount: z.int() }).nullable(),
});

/** The state of a key's newest one-time link (docs/contract.md). */
const shareView = z.object({
  state: z.enum(['pending', 'opened', 'expired', 'superseded']),
  expires_at: time,
  opened_at: time.nullable(),
  revoke_if_unopened: z.boolean(),
});

/** A client as every read shows it: never its secret, only a hint of it. */
export const clientAnswer = z.object({
  type: z.literal('api_access').meta({ description: "ALM Octane's type name" }),
  id: z.string().meta({ description: 'the client_id, as ALM Octane names it' }),
  client_id: z.string(),
  name: z.string().nullable(),
  kind: z.enum(CLIENT_KINDS),
  team_id: z.int().nullable(),
  user_id: z.int().nullable(),
  environment: z.enum(ENVIRONMENTS),
  scopes: z.array(z.string()),
  redirect_uris: z.array(z.string()).optional().meta({ description: 'apps only' }),
  created_at: time.nullable(),
  expires_at: time.nullable(),
  last_used_at: time.nullable(),
  usage_count: z.int(),
  is_valid: z.boolean(),
  secret_hint: z.string().nullable(),
  leaked_at: z.iso
    .datetime()
    .optional()
    .meta({ description: 'only when a secret scanner reported the current secret as public (revoked, or flagged)' }),
  public_key_kids: z.array(z.string()).optional().meta({ description: "a JWT service account's kids, primary first" }),
  credits: credits.nullable(),
  meta: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({ description: "the key's own metadata, as set at create or by PATCH" }),
  // Permissions and roles (issue 28 item 2)
  permissions: z
    .array(z.string())
    .meta({ description: "the key's own permissions (its roles' are added at /keys/verify)" }),
  roles: z.array(z.string()).meta({ description: 'the ids of the roles the key holds' }),
  allowed_ips: z
    .array(z.string())
    .meta({ description: 'where the key may be used from, in canonical form; []: anywhere' }),
  share: shareView.optional().meta({ description: 'the newest one-time link of its secret, if any' }),
});

/** Create and regenerate: the secret this once, or instead a one-time link to it. */
export const handedOverAnswer = clientAnswer.extend({
  client_secret: z.string().optional().meta({ description: 'only here, only once' }),
  share_url: z.url().optional().meta({ description: 'with `share`: the link, its key in the fragment' }),
  client_secret_note: z.string().optional().meta({ description: 'when the secret was chosen: where it works' }),
});

/** Create in ALM Octane's {"data": [...]} form. */
export const octanePageAnswer = z.object({
  total_count: z.int(),
  data: z.array(handedOverAnswer),
  exceeds_total_count: z.boolean(),
});

/** Said in every answer to a chosen secret (RFC 6749 §2.3.1: a client password is for the token endpoint). */
export const CHOSEN_SECRET_NOTE =
  'a chosen client_secret is not an API key: use it only at /token (client credentials) to get an access token';

/** ALM Octane's names on a client answer: `type` and `id`. */
export const withOctaneNames = <T extends { readonly client_id: string }>(view: T) => ({
  type: 'api_access' as const,
  id: view.client_id,
  ...view,
});

export const clientPageAnswer = z.object({
  total_count: z.int(),
  data: z.array(clientAnswer),
  exceeds_total_count: z.boolean(),
});

export const publicKeyAnswer = z.object({ kid: z.string() });

const counts = Object.fromEntries(OUTCOMES.map((o) => [o, z.int()])) as Record<(typeof OUTCOMES)[number], z.ZodInt>;

export const usageAnswer = z.object({
  data: z.array(z.object({ t: time, ...counts })),
  addresses: z.array(z.object({ address: z.string(), first_seen: time, last_seen: time, count: z.int() })),
});

export const eventPageAnswer = z.object({
  total_count: z.int(),
  data: z.array(
    z.object({
      id: z.int(),
      action: z.string(),
      actor: z.object({ type: z.string(), id: z.string().nullable() }),
      client_id: z.string().nullable(),
      status: z.int(),
      ip: z.string().nullable(),
      details: z.record(z.string(), z.unknown()).nullable(),
      created_at: time,
    }),
  ),
  exceeds_total_count: z.boolean(),
});
