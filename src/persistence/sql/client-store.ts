import type { Knex } from 'knex';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import type { ClientRecord, Credits } from '../../clients/client.js';
import { kindOfRow } from '../../clients/kinds.js';
import { metaFromText, metaToText } from '../../clients/meta.js';
import { listFromText, listToText } from '../../clients/permissions.js';
import { allowedIpsFromText, allowedIpsToText } from '../../clients/allowed-ips.js';
import { thumbprint, type PublicKey } from '../../clients/public-keys.js';
import { digestBinding } from '../../clients/secrets.js';
import type { ClientStore } from '../../clients/store.js';
import { dialectOf, hotStatement, inList, type Db } from './knex.js';
import { sqlOf } from './unit-of-work.js';
import { adoptHandInsertedClients } from './hand-inserted-clients.js';

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
  key_digest?: string | null;
  key_digest_binding?: string | null;
  previous_key_digest?: string | null;
  credits_remaining?: number | string | null;
  credits_refill_interval?: string | null;
  credits_refill_amount?: number | string | null;
  credits_low_at?: number | string | null;
  extra_public_keys?: string | null;
  meta?: string | null;
  leaked_at?: number | string | null;
  permissions?: string | null;
  roles?: string | null;
  allowed_ips?: string | null;
  access_token_format?: string | null;
  team_plan?: string | null;
  team_suspended_at?: number | string | null;
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

/** The key's digest, while it was made for the secret stored now; a hash pasted by hand unbinds it. */
function trustedDigest(row: ClientRow): string | null {
  const hash = row.client_secret_hash?.trim();
  return row.key_digest && hash && row.key_digest_binding === digestBinding(hash) ? row.key_digest : null;
}

function creditsOf(row: ClientRow): Credits | null {
  if (row.credits_remaining === null || row.credits_remaining === undefined) return null;
  const interval = row.credits_refill_interval;
  const refill =
    (interval === 'day' || interval === 'month') && row.credits_refill_amount != null
      ? { interval: interval as 'day' | 'month', amount: Number(row.credits_refill_amount) }
      : null;
  return { remaining: Number(row.credits_remaining), refill };
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
    keyDigest: trustedDigest(row),
    previousKeyDigest: row.previous_key_digest ?? null,
    credits: creditsOf(row),
    meta: metaFromText(row.meta),
    leakedAt: num(row.leaked_at),
    permissions: listFromText(row.permissions),
    roles: listFromText(row.roles),
    allowedIps: allowedIpsFromText(row.allowed_ips),
    accessTokenFormat: row.access_token_format === 'jwt' ? 'jwt' : null,
    teamPlan: row.team_plan ?? undefined,
    teamSuspended: row.team_suspended_at != null,
    creditsLowAt: num(row.credits_low_at ?? null),
  };
}

// The team's suspension comes with the row the hot path reads anyway: no extra query.
const SELECT = ['o_auth_clients.*', 'teams.plan as team_plan', 'teams.suspended_at as team_suspended_at'];

/** Credits as columns; setting them starts a new refill period from `nowMs`. */
function creditColumns(credits: Credits | null, nowMs: number) {
  return {
    credits_remaining: credits?.remaining ?? null,
    credits_refill_interval: credits?.refill?.interval ?? null,
    credits_refill_amount: credits?.refill?.amount ?? null,
    credits_period: credits?.refill ? periodStart(credits.refill.interval, nowMs) : null,
    // Credits given anew: a fall below the threshold is told again.
    credits_low_at: null,
  };
}

/** The start (epoch seconds, UTC) of the day or month that `ms` falls in. */
function periodStart(interval: 'day' | 'month', ms: number): number {
  const d = new Date(ms);
  const start =
    interval === 'day'
      ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
      : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return start / 1000;
}

/** ClientStore on o_auth_clients (with the team's plan joined), times from `clock`. */
export function createSqlClientStore(db: Db, clock: Clock = systemClock): ClientStore {
  const dialect = dialectOf(db);
  const withTeam = () =>
    db<ClientRow>('o_auth_clients').leftJoin('teams', 'teams.id', 'o_auth_clients.team_id').select(SELECT);
  // The reads every request makes, as prepared statements (knex.ts).
  const hot = hotStatement(db);
  const FROM =
    'SELECT o_auth_clients.*, teams.plan AS team_plan, teams.suspended_at AS team_suspended_at FROM o_auth_clients LEFT JOIN teams ON teams.id = o_auth_clients.team_id';

  return {
    async findById(clientId) {
      const row = await withTeam().where('o_auth_clients.client_id', clientId).first();
      // MySQL's PAD SPACE collations let 'sa1 ' find 'sa1': identity is byte for byte.
      return row && row.client_id === clientId ? toRecord(row) : undefined;
    },

    async findManyById(clientIds) {
      const ids = inList([...new Set(clientIds)]);
      const rows = await hot<ClientRow>(`${FROM} WHERE o_auth_clients.client_id IN (${ids.marks})`, ids.values);
      const byId = new Map(rows.map((row) => [row.client_id, row]));
      return clientIds.map((id) => {
        const row = byId.get(id);
        return row ? toRecord(row) : undefined;
      });
    },

    async insert(c, tx) {
      const q = sqlOf(db, tx);
      await q('o_auth_clients').insert({
        client_id: c.clientId,
        client_secret_hash: c.secretHash,
        client_r_s_a_public_key: c.publicKeyPem,
        public_key_kid: c.publicKeyKid ?? null,
        key_digest: c.keyDigest ?? null,
        key_digest_binding: c.keyDigest && c.secretHash ? digestBinding(c.secretHash) : null,
        ...creditColumns(c.credits ?? null, clock.now()),
        meta: metaToText(c.meta ?? null),
        permissions: listToText(c.permissions ?? []),
        roles: listToText(c.roles ?? []),
        allowed_ips: allowedIpsToText(c.allowedIps ?? []),
        ...(c.accessTokenFormat ? { access_token_format: c.accessTokenFormat } : {}),
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

    async update(clientId, changes, tx) {
      const columns: Record<string, unknown> = {};
      if (changes.kind !== undefined) columns.kind = changes.kind;
      if (changes.name !== undefined) columns.name = changes.name;
      if (changes.scopes !== undefined) columns.scopes = changes.scopes.join(' ');
      if (changes.secretHash !== undefined) columns.client_secret_hash = changes.secretHash;
      if (changes.secretHint !== undefined) columns.secret_hint = changes.secretHint;
      if (changes.publicKeyPem !== undefined) columns.client_r_s_a_public_key = changes.publicKeyPem;
      if (changes.keyDigest !== undefined) {
        columns.key_digest = changes.keyDigest;
        columns.key_digest_binding = changes.keyDigest && changes.secretHash ? digestBinding(changes.secretHash) : null;
      }
      if (changes.previousKeyDigest !== undefined) columns.previous_key_digest = changes.previousKeyDigest;
      if (changes.credits !== undefined) Object.assign(columns, creditColumns(changes.credits, clock.now()));
      if (changes.meta !== undefined) columns.meta = metaToText(changes.meta);
      if (changes.leakedAt !== undefined) columns.leaked_at = changes.leakedAt;
      if (changes.permissions !== undefined) columns.permissions = listToText(changes.permissions);
      if (changes.roles !== undefined) columns.roles = listToText(changes.roles);
      if (changes.allowedIps !== undefined) columns.allowed_ips = allowedIpsToText(changes.allowedIps);
      if (changes.publicKeys !== undefined) {
        const [primary, ...extra] = changes.publicKeys;
        columns.client_r_s_a_public_key = primary?.pem ?? null;
        columns.public_key_kid = primary && primary.kid !== thumbprint(primary.pem) ? primary.kid : null;
        columns.extra_public_keys = extra.length ? JSON.stringify(extra) : null;
      }
      if (changes.revokedAt !== undefined) columns.revoked_at = changes.revokedAt;
      if (changes.previousSecretHash !== undefined) columns.previous_secret_hash = changes.previousSecretHash;
      if (changes.previousSecretExpiresAt !== undefined)
        columns.previous_secret_expires_at = changes.previousSecretExpiresAt;
      if (!Object.keys(columns).length)
        return Boolean(await sqlOf(db, tx)('o_auth_clients').where({ client_id: clientId }).first('client_id'));
      const updated = await sqlOf(db, tx)('o_auth_clients').where({ client_id: clientId }).update(columns);
      return updated > 0;
    },

    async findByKeyDigest(digests) {
      const list = inList([...new Set(digests)]);
      const rows = await hot<ClientRow>(
        `${FROM} WHERE o_auth_clients.key_digest IN (${list.marks}) OR o_auth_clients.previous_key_digest IN (${list.marks})`,
        [...list.values, ...list.values],
      );
      return digests.map((digest) => {
        const row =
          rows.find((r) => trustedDigest(r) === digest) ??
          rows.find(
            (r) => r.previous_key_digest === digest && Number(r.previous_secret_expires_at ?? 0) > secondsOf(clock),
          );
        return row ? toRecord(row) : undefined;
      });
    },

    async setKeyDigestIfMissing(clientId, digest, secretHash) {
      try {
        const binding = digestBinding(secretHash);
        // Missing, or made for a secret that is no longer stored: (re)bound to the one that just matched.
        await db('o_auth_clients')
          .where({ client_id: clientId, client_secret_hash: secretHash })
          .andWhere((q) =>
            q.whereNull('key_digest').orWhereNull('key_digest_binding').orWhereNot('key_digest_binding', binding),
          )
          .update({ key_digest: digest, key_digest_binding: binding });
      } catch (err) {
        // Another row holds this digest (a hand-copied row with the same secret): the key stays usable at /token only.
        if (!dialect.isDuplicateKey(err)) throw err;
      }
    },

    async spendCredits(clientId, cost, now) {
      const row = await db<ClientRow>('o_auth_clients')
        .where({ client_id: clientId })
        .first(['credits_refill_interval', 'credits_refill_amount']);
      const interval = row?.credits_refill_interval;
      const current = interval === 'day' || interval === 'month' ? periodStart(interval, now) : null;
      // What is left once a refill due for a new day or month is applied.
      const left =
        current === null
          ? 'credits_remaining'
          : 'CASE WHEN credits_period IS NULL OR credits_period < ? THEN ? ELSE credits_remaining END';
      const leftBindings = current === null ? [] : [current, Number(row?.credits_refill_amount ?? 0)];
      // One conditional UPDATE: refill and spend together, only when enough is left.
      const updated = await db('o_auth_clients')
        .where({ client_id: clientId })
        .whereNotNull('credits_remaining')
        .whereRaw(`(${left}) >= ?`, [...leftBindings, cost])
        .update({
          credits_remaining: db.raw(`(${left}) - ?`, [...leftBindings, cost]),
          ...(current === null
            ? {}
            : {
                // A refill gives the credits anew: a fall below the threshold is told again. Set
                // before credits_period: MySQL reads a column assigned earlier in the SET as updated.
                credits_low_at: db.raw(
                  'CASE WHEN credits_period IS NULL OR credits_period < ? THEN NULL ELSE credits_low_at END',
                  [current],
                ),
                credits_period: current,
              }),
        });
      if (!updated) return undefined;
      const after = await db<ClientRow>('o_auth_clients').where({ client_id: clientId }).first('credits_remaining');
      return Number(after?.credits_remaining ?? 0);
    },

    async revoke(clientId, at, tx) {
      const write = async (q: Knex) => {
        await q('o_auth_clients').where({ client_id: clientId }).whereNull('revoked_at').update({ revoked_at: at });
        await q('oidc_payloads').where({ client_id: clientId }).delete();
      };
      await (tx ? write(sqlOf(db, tx)) : db.transaction(write));
    },

    async countValid(teamId, now, tx) {
      const [{ count }] = (await sqlOf(
        db,
        tx,
      )('o_auth_clients')
        .where({ team_id: teamId })
        .whereNull('revoked_at')
        .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now))
        .count({ count: '*' })) as [{ count: number | string }];
      return Number(count);
    },

    async lockTeamKeys(teamId, tx) {
      // A write to the team row, on every database: it holds the row's lock to commit (MySQL,
      // PostgreSQL; SQLite's one writer, taken before any read, so a transaction never has to
      // upgrade one), and on Galera, which ignores a lock taken on another node, it makes two
      // creates for one team conflict at commit, where the loser runs again (knex.ts).
      await sqlOf(
        db,
        tx,
      )('teams')
        .where({ id: teamId })
        .update({ key_writes: db.raw('key_writes + 1') });
    },

    adoptHandInserted: (teamId, now) => adoptHandInsertedClients(db, teamId, now),

    async serviceAccountKeys(teamId) {
      const rows = await db('o_auth_clients')
        .where({ team_id: teamId })
        .whereNotNull('user_id')
        .select('client_id', 'user_id');
      return new Map(rows.map((r: { client_id: string; user_id: number }) => [Number(r.user_id), r.client_id]));
    },

    async listByTeam(teamId, { limit, offset }) {
      const [{ count }] = (await db('o_auth_clients').where({ team_id: teamId }).count({ count: '*' })) as [
        { count: number | string },
      ];
      const rows = await withTeam()
        .where('o_auth_clients.team_id', teamId)
        .orderBy([{ column: 'o_auth_clients.created_at', order: 'desc' }, { column: 'o_auth_clients.client_id' }])
        .limit(limit)
        .offset(offset);
      return { total: Number(count), clients: rows.map(toRecord) };
    },

    async findBySecretHint(hint, limit) {
      const rows = await withTeam().where('o_auth_clients.secret_hint', hint).limit(limit);
      // Byte for byte: MySQL's default collation would match another case.
      return rows.map(toRecord).filter((c) => c.secretHint === hint);
    },
  };
}
