import type { Knex } from 'knex';
import type { Db } from '../db/knex.js';
import type { ClientRecord, Environment } from './client.js';
import { kindOfRow, type ClientKind } from './kinds.js';
import { thumbprint, type PublicKey } from './public-keys.js';

export interface NewClient {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly name: string | null;
  readonly teamId: number | null;
  readonly userId: number | null;
  readonly secretHash: string | null;
  readonly publicKeyPem: string | null;
  /** The kid the customer gave the key (none: its thumbprint is its kid). */
  readonly publicKeyKid?: string | null;
  readonly redirectUris: readonly string[];
  readonly environment: Environment;
  readonly scopes: readonly string[];
  readonly secretHint: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export type ClientChanges = Partial<{
  kind: ClientKind;
  name: string | null;
  scopes: readonly string[];
  secretHash: string | null;
  secretHint: string | null;
  publicKeyPem: string | null;
  /** The keys of a JWT service account, the primary (column) key first. */
  publicKeys: readonly PublicKey[];
  revokedAt: number | null;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
}>;

export interface ClientStore {
  findById(clientId: string): Promise<ClientRecord | undefined>;
  /** Several clients in one query; the answer is in the order of `clientIds`. */
  findManyById(clientIds: readonly string[]): Promise<Array<ClientRecord | undefined>>;
  insert(client: NewClient, trx?: Knex.Transaction): Promise<void>;
  update(clientId: string, changes: ClientChanges, trx?: Knex.Transaction): Promise<boolean>;
  /**
   * Revokes the client and, in the same transaction, deletes every token,
   * code, refresh token and grant issued to it: whatever happens to the key
   * later (a new secret, a new public key), nothing issued before comes back.
   */
  revoke(clientId: string, at: number): Promise<void>;
  /** Valid (not revoked, not expired) clients of the team, read inside `trx`. */
  countValid(teamId: number, now: number, trx?: Knex.Transaction): Promise<number>;
  listByTeam(teamId: number, page: { limit: number; offset: number }): Promise<{ total: number; clients: ClientRecord[] }>;
}

interface ClientRow {
  client_id: string;
  client_secret_hash: string | null;
  client_r_s_a_public_key: string | null;
  redirect_uri: string | null;
  team_id: number | null;
  user_id: number | null;
  kind: string | null;
  name: string | null;
  environment: string | null;
  scopes: string | null;
  secret_hint: string | null;
  created_at: number | string | null;
  expires_at: number | string | null;
  revoked_at: number | string | null;
  last_used_at: number | string | null;
  usage_count: number | string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | string | null;
  public_key_kid?: string | null;
  extra_public_keys?: string | null;
  team_plan?: string | null;
}

const num = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Number(v));
const words = (v: string | null) => (v ?? '').split(/\s+/).filter(Boolean);

function publicKeysOf(row: ClientRow): PublicKey[] {
  const pem = row.client_r_s_a_public_key?.trim();
  if (!pem) return [];
  let primary: PublicKey;
  try {
    primary = { kid: row.public_key_kid ?? thumbprint(pem), pem };
  } catch {
    // A row pasted by hand with something that is not a key: no usable key.
    return [];
  }
  const extra = row.extra_public_keys ? (JSON.parse(row.extra_public_keys) as PublicKey[]) : [];
  return [primary, ...extra];
}

function toRecord(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    kind: kindOfRow(row),
    name: row.name,
    teamId: row.team_id,
    userId: row.user_id,
    secretHash: row.client_secret_hash?.trim() || null,
    publicKeyPem: row.client_r_s_a_public_key?.trim() || null,
    publicKeys: publicKeysOf(row),
    redirectUris: words(row.redirect_uri),
    environment: row.environment === 'dev' ? 'dev' : 'prod',
    scopes: row.scopes === null ? null : words(row.scopes),
    secretHint: row.secret_hint,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    revokedAt: num(row.revoked_at),
    lastUsedAt: num(row.last_used_at),
    usageCount: num(row.usage_count) ?? 0,
    previousSecretHash: row.previous_secret_hash ?? null,
    previousSecretExpiresAt: num(row.previous_secret_expires_at),
    teamPlan: row.team_plan ?? undefined,
  };
}

const SELECT = ['o_auth_clients.*', 'teams.plan as team_plan'];

export function createKnexClientStore(db: Db): ClientStore {
  const withTeam = () => db<ClientRow>('o_auth_clients').leftJoin('teams', 'teams.id', 'o_auth_clients.team_id').select(SELECT);

  return {
    async findById(clientId) {
      const row = await withTeam().where('o_auth_clients.client_id', clientId).first();
      // MySQL's PAD SPACE collations let 'sa1 ' find 'sa1': identity is byte for byte.
      return row && row.client_id === clientId ? toRecord(row) : undefined;
    },

    async findManyById(clientIds) {
      const rows = await withTeam().whereIn('o_auth_clients.client_id', [...new Set(clientIds)]);
      const byId = new Map(rows.map((row) => [row.client_id, row]));
      return clientIds.map((id) => {
        const row = byId.get(id);
        return row ? toRecord(row) : undefined;
      });
    },

    async insert(c, trx) {
      await (trx ?? db)('o_auth_clients').insert({
        client_id: c.clientId,
        client_secret_hash: c.secretHash,
        client_r_s_a_public_key: c.publicKeyPem,
        public_key_kid: c.publicKeyKid ?? null,
        // One URI per line; a row pasted by hand with a single URI reads the same.
        redirect_uri: c.redirectUris.length ? c.redirectUris.join('\n') : null,
        team_id: c.teamId,
        user_id: c.userId,
        kind: c.kind,
        name: c.name,
        environment: c.environment,
        scopes: c.scopes.join(' '),
        secret_hint: c.secretHint,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
      });
    },

    async update(clientId, changes, trx) {
      const columns: Record<string, unknown> = {};
      if (changes.kind !== undefined) columns.kind = changes.kind;
      if (changes.name !== undefined) columns.name = changes.name;
      if (changes.scopes !== undefined) columns.scopes = changes.scopes.join(' ');
      if (changes.secretHash !== undefined) columns.client_secret_hash = changes.secretHash;
      if (changes.secretHint !== undefined) columns.secret_hint = changes.secretHint;
      if (changes.publicKeyPem !== undefined) columns.client_r_s_a_public_key = changes.publicKeyPem;
      if (changes.publicKeys !== undefined) {
        const [primary, ...extra] = changes.publicKeys;
        columns.client_r_s_a_public_key = primary?.pem ?? null;
        columns.public_key_kid = primary && primary.kid !== thumbprint(primary.pem) ? primary.kid : null;
        columns.extra_public_keys = extra.length ? JSON.stringify(extra) : null;
      }
      if (changes.revokedAt !== undefined) columns.revoked_at = changes.revokedAt;
      if (changes.previousSecretHash !== undefined) columns.previous_secret_hash = changes.previousSecretHash;
      if (changes.previousSecretExpiresAt !== undefined) columns.previous_secret_expires_at = changes.previousSecretExpiresAt;
      const updated = await (trx ?? db)('o_auth_clients').where({ client_id: clientId }).update(columns);
      return updated > 0;
    },

    async revoke(clientId, at) {
      await db.transaction(async (trx) => {
        await trx('o_auth_clients').where({ client_id: clientId }).whereNull('revoked_at').update({ revoked_at: at });
        await trx('oidc_payloads').where({ client_id: clientId }).delete();
      });
    },

    async countValid(teamId, now, trx) {
      const [{ count }] = (await (trx ?? db)('o_auth_clients')
        .where({ team_id: teamId })
        .whereNull('revoked_at')
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
        .count({ count: '*' })) as [{ count: number | string }];
      return Number(count);
    },

    async listByTeam(teamId, { limit, offset }) {
      const [{ count }] = (await db('o_auth_clients').where({ team_id: teamId }).count({ count: '*' })) as [{ count: number | string }];
      const rows = await withTeam()
        .where('o_auth_clients.team_id', teamId)
        .orderBy([{ column: 'o_auth_clients.created_at', order: 'desc' }, { column: 'o_auth_clients.client_id' }])
        .limit(limit)
        .offset(offset);
      return { total: Number(count), clients: rows.map(toRecord) };
    },
  };
}
