import { hash, randomBytes } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { secondsOf, systemClock, type Clock } from '../../clock.js';
import { createBatcher } from '../../batch.js';
import { deleteInBatches } from './batched-delete.js';
import { dialectOf, hotStatement, inList, type Db } from './knex.js';
import { replicaFirst, type ReadMany } from './replica-reads.js';

const TABLE = 'oidc_payloads';

/** Reads a client's oidc-provider metadata from keyport's own table (see client-loader.ts). */
export type ClientMetadataLoader = (clientId: string) => Promise<AdapterPayload | undefined>;

/**
 * oidc-provider's adapter contract on knex: the Client model is read from
 * `o_auth_clients` through the loader, every other model lives in one
 * payload table. `consume` and replay detection are single conditional
 * writes, so two processes on one database never both win.
 */
export function createAdapterFactory(
  db: Db,
  loadClient: ClientMetadataLoader,
  clock: Clock = systemClock,
  /** A read replica of `db` for bearer tokens (replica-reads.ts). */
  replica?: Db,
): (name: string) => Adapter {
  // RFC 7523 §3: used assertion ids are always recorded here, with or without
  // Redis: a Redis restart or failover must not make a used assertion new again.
  const batched = payloadBatches(db, replica);
  return (name) => (name === 'Client' ? clientAdapter(loadClient) : payloadAdapter(db, name, batched, clock));
}

type PayloadKey = readonly [type: string, id: string];

/** Payload rows by (type, id) on `db`, one query for all of them. */
function findRows(db: Db): ReadMany<PayloadKey, PayloadRow> {
  const hot = hotStatement(db);
  const dialect = dialectOf(db);
  return async (keys) => {
    // (type, id) pairs, as row constructors the dialect compares by the primary key.
    const pairs = inList([...new Map(keys.map(([type, id]) => [`${type}\0${id}`, [type, id] as const])).values()]);
    const tuples = pairs.values.map(() => '(?, ?)').join(', ');
    const rows = await hot<PayloadRow & { type: string; id: string }>(
      `SELECT type, id, ${COLUMNS.join(', ')} FROM ${TABLE} WHERE (type, id) ${dialect.rowsIn(tuples)}`,
      pairs.values.flat(),
    );
    // Compared in code too: MySQL's PAD SPACE would match a key with trailing spaces.
    const byKey = new Map(rows.map((row) => [`${row.type}\0${row.id}`, row]));
    return keys.map(([type, id]) => byKey.get(`${type}\0${id}`));
  };
}

/** The columns a token write sets: the key, then what an upsert replaces. */
const UPSERTED = [
  'type',
  'id',
  'payload',
  'grant_id',
  'uid',
  'user_code',
  'client_id',
  'account_id',
  'expires_at',
] as const;

interface StoredRow {
  type: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  client_id: string | null;
  account_id: string | null;
  expires_at: number | null;
}

/**
 * Lookups by key and writes of tokens made at the same moment, by any model,
 * share one query each (db/batch.ts): issuing a token and introspecting one
 * are the hot paths, one row each.
 */
function payloadBatches(db: Db, replica: Db | undefined) {
  const hot = hotStatement(db);
  const dialect = dialectOf(db);
  const upsertUpdate = `${dialect.onConflictUpdate(['type', 'id'])} ${UPSERTED.slice(2)
    .map((column) => `${column} = ${dialect.inserted(column)}`)
    .join(', ')}`;
  return {
    find: createBatcher(findRows(db)),
    // Tokens presented as bearers, read replica first (replica-reads.ts); without a replica, as `find`.
    findBearer: createBatcher(replica ? replicaFirst(findRows(replica), findRows(db)) : findRows(db)),
    /**
     * RFC 7523 §3 (jti): inserts replay-detection rows, a batch at a time, and
     * tells each one whether it was first. Each row carries a random nonce;
     * the insert leaves an existing row alone, and reading the rows back shows
     * whose nonce is stored: that request was first, any other is a replay,
     * whether the other came in the same batch or from another process.
     */
    firstUse: createBatcher(async (rows: readonly StoredRow[]) => {
      const nonces = rows.map(() => randomBytes(12).toString('base64url'));
      const stored = rows.map((row, i) => ({
        ...row,
        payload: JSON.stringify({ ...JSON.parse(row.payload), nonce: nonces[i] }),
      }));
      // An existing row is left as it is: the first writer's nonce stays.
      await db.raw(
        `INSERT INTO ${TABLE} (${UPSERTED.join(', ')}) VALUES ${stored.map(() => `(${UPSERTED.map(() => '?').join(', ')})`).join(', ')} ${dialect.onConflictKeep(['type', 'id'])}`,
        stored.flatMap((row) => UPSERTED.map((column) => row[column])),
      );
      const found = await db(TABLE)
        .whereIn(
          ['type', 'id'],
          rows.map((row) => [row.type, row.id]),
        )
        .select<Array<{ type: string; id: string; payload: string }>>(['type', 'id', 'payload']);
      const winner = new Map(
        found.map((row) => [`${row.type}\0${row.id}`, (JSON.parse(row.payload) as { nonce?: string }).nonce]),
      );
      return rows.map((row, i) => winner.get(`${row.type}\0${row.id}`) === nonces[i]);
    }, 100),
    upsert: createBatcher(async (rows: readonly StoredRow[]) => {
      // The last write of a key wins, as it would have one statement at a time.
      const last = [...new Map(rows.map((row) => [`${row.type}\0${row.id}`, row])).values()];
      // A padded row repeats the last one: writing it twice leaves it as once, where the dialect allows it.
      const unique = dialect.upsertRepeats ? inList(last) : { values: last };
      const values = unique.values.map(() => `(${UPSERTED.map(() => '?').join(', ')})`).join(', ');
      await hot(
        `INSERT INTO ${TABLE} (${UPSERTED.join(', ')}) VALUES ${values} ${upsertUpdate}`,
        unique.values.flatMap((row) => UPSERTED.map((column) => row[column])),
      );
      return rows.map(() => undefined);
    }),
  };
}

function clientAdapter(loadClient: ClientMetadataLoader): Adapter {
  const unsupported = async () => {
    // Dynamic registration is off: clients are created by the CLI and admin API only.
    throw new Error('clients are managed through keyport, not oidc-provider');
  };
  return {
    find: (id) => loadClient(id),
    upsert: unsupported,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    consume: unsupported,
    destroy: unsupported,
    revokeByGrantId: async () => undefined,
  };
}

interface PayloadRow {
  payload: string;
  expires_at: number | string | null;
  consumed_at: number | string | null;
}

const COLUMNS = ['payload', 'expires_at', 'consumed_at'];

/**
 * Bearer credentials whose payload repeats the value as `jti` and which are
 * only ever looked up by that value: the stored payload leaves it out.
 * (Sessions are also found by uid, so their payload stays whole.)
 */
const BEARER_MODELS = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode']);

/**
 * Models a read replica may answer: access tokens, only ever read. Codes and
 * refresh tokens are consumed (single use), sessions and interactions change
 * from one request to the next: those are read on the primary.
 */
const REPLICA_MODELS = new Set(['AccessToken', 'ClientCredentials']);

/**
 * The key a payload is stored under. An opaque token's id is the token itself
 * (and so is a session's, a code's, a refresh token's): only its SHA-256 is
 * stored, so a copy of the database holds no usable token.
 */
export function storageKey(id: string): string {
  return hash('sha256', id, 'base64url');
}

function payloadAdapter(db: Db, type: string, batched: ReturnType<typeof payloadBatches>, clock: Clock): Adapter {
  const rows = () => db(TABLE).where({ type });

  const read = (row: PayloadRow | undefined, id?: string): AdapterPayload | undefined => {
    if (!row) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= secondsOf(clock)) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    // The token value was left out of the stored payload; the caller just presented it.
    if (id !== undefined && payload.jti === undefined && BEARER_MODELS.has(type)) payload.jti = id;
    return row.consumed_at === null ? payload : { ...payload, consumed: Number(row.consumed_at) };
  };

  return {
    async upsert(id, payload, expiresIn) {
      // A bearer token's value is neither the key nor kept in the stored payload.
      const { jti, ...rest } = payload;
      const row = {
        type,
        id: storageKey(id),
        payload: JSON.stringify(BEARER_MODELS.has(type) && jti === id ? rest : payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        // Sessions and interactions belong to no client; tokens and grants do (see revokeClient).
        client_id:
          type === 'Session' || type === 'Interaction' || type === 'ReplayDetection'
            ? null
            : (payload.clientId ?? null),
        // The person a token, grant or sign-in session is for (see TeamStore.removeMember).
        account_id: typeof payload.accountId === 'string' ? payload.accountId.slice(0, 64) : null,
        expires_at: expiresIn ? secondsOf(clock) + expiresIn : null,
      };
      if (type === 'ReplayDetection') {
        // The atomic check-and-set that makes an assertion single-use across processes.
        if (!(await batched.firstUse(row)))
          throw new errors.InvalidClientAuth('client assertion tokens must only be used once');
        return;
      }
      await batched.upsert(row);
    },

    async find(id) {
      return read(await (REPLICA_MODELS.has(type) ? batched.findBearer : batched.find)([type, storageKey(id)]), id);
    },

    async findByUid(uid) {
      return read(await rows().andWhere({ uid }).first<PayloadRow>(COLUMNS));
    },

    async findByUserCode(userCode) {
      return read(await rows().andWhere({ user_code: userCode }).first<PayloadRow>(COLUMNS));
    },

    async consume(id) {
      // RFC 6749 §4.1.2: a code is single-use. The conditional update lets
      // exactly one of several concurrent redemptions through.
      const updated = await rows()
        .andWhere({ id: storageKey(id) })
        .whereNull('consumed_at')
        .update({ consumed_at: secondsOf(clock) });
      if (updated === 0)
        throw new errors.InvalidGrant(`${type === 'AuthorizationCode' ? 'authorization code' : 'grant'} already used`);
    },

    async destroy(id) {
      await rows()
        .andWhere({ id: storageKey(id) })
        .delete();
    },

    async revokeByGrantId(grantId) {
      await db(TABLE).where({ grant_id: grantId }).delete();
    },
  };
}

/** Deletes expired rows (the sweep), in batches. */
export function deleteExpiredPayloads(db: Db, clock: Clock = systemClock): Promise<number> {
  return deleteInBatches(db, {
    table: TABLE,
    key: ['type', 'id'],
    where: (rows) => rows.where('expires_at', '<=', secondsOf(clock)),
  });
}
