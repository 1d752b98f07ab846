// The data of `npm run bench`: copies of client rows, the seeded database.
import { randomBytes } from 'node:crypto';
import { createDb } from '../dist/src/persistence/sql/knex.js';

export const SEED_TOKENS = 1_000_000;
export const SEED_CLIENTS = 100_000;

/** Copies a client row under new ids (same stored hash): 1,000 bcrypt hashes would take a minute to make. */
export async function cloneClients(databaseUrl, fromId, ids) {
  const db = createDb(databaseUrl);
  try {
    const row = await db('o_auth_clients').where({ client_id: fromId }).first();
    // 250 rows per statement: SQLite allows 500 terms in a compound SELECT.
    for (let i = 0; i < ids.length; i += 250) {
      // A digest finds one key only: copies get none (their secret is the original's).
      await db('o_auth_clients').insert(
        ids.slice(i, i + 250).map((client_id) => ({
          ...row,
          client_id,
          name: client_id,
          usage_count: 0,
          last_used_at: null,
          key_digest: null,
          previous_key_digest: null,
        })),
      );
    }
  } finally {
    await db.destroy();
  }
}

/** 100,000 clients (copies of one row) and 1,000,000 token rows, a fifth of them expired. */
export async function seed(databaseUrl, f) {
  const started = Date.now();
  const ids = Array.from({ length: SEED_CLIENTS }, (_, i) => `${f.warm.client_id}-seed-${i}`);
  await cloneClients(databaseUrl, f.warm.client_id, ids);
  const db = createDb(databaseUrl);
  try {
    const template = await db('oidc_payloads').where({ type: 'ClientCredentials' }).first();
    if (!template) throw new Error('no token row to copy');
    const payload = JSON.parse(template.payload);
    const now = Math.floor(Date.now() / 1000);
    const batch = 250;
    for (let i = 0; i < SEED_TOKENS; i += batch) {
      const rows = [];
      for (let j = i; j < Math.min(i + batch, SEED_TOKENS); j++) {
        const expired = j % 5 === 0;
        const exp = expired ? now - 60 : now + 3600;
        rows.push({
          type: 'ClientCredentials',
          id: randomBytes(32).toString('base64url'),
          payload: JSON.stringify({ ...payload, clientId: ids[j % ids.length], iat: exp - 3600, exp }),
          expires_at: exp,
        });
      }
      await db('oidc_payloads').insert(rows);
    }
  } finally {
    await db.destroy();
  }
  return Math.round((Date.now() - started) / 1000);
}

/** The fixtures' rows (team, users, clients) into the seeded database, so the same credentials work there. */
export async function copyFixtures(fromUrl, toUrl) {
  const from = createDb(fromUrl);
  const to = createDb(toUrl);
  try {
    for (const table of ['teams', 'users', 'team_memberships', 'o_auth_clients']) {
      const rows = await from(table).select();
      for (let i = 0; i < rows.length; i += 250) await to(table).insert(rows.slice(i, i + 250));
    }
  } finally {
    await from.destroy();
    await to.destroy();
  }
}

/**
 * `count` clients with keys of their own (scenarios a with 1,000 clients, e
 * and f): copies of one client row, each with a distinct key of the current
 * format, its digest, and the digest's binding to the stored hash, as keyport
 * makes them. Such keys are proven by their digest, so none costs a bcrypt
 * check; the bcrypt hash is the original's and never checked.
 */
export async function makeApiKeys(databaseUrl, fromId, count) {
  const { generateClientSecret, keyDigest, digestBinding } = await import('../dist/src/clients/secrets.js');
  const db = createDb(databaseUrl);
  try {
    const row = await db('o_auth_clients').where({ client_id: fromId }).first();
    const keys = Array.from({ length: count }, (_, i) => ({
      client_id: `${fromId}-${String(i).padStart(4, '0')}`,
      client_secret: generateClientSecret('prod'),
    }));
    for (let i = 0; i < keys.length; i += 250) {
      await db('o_auth_clients').insert(
        keys.slice(i, i + 250).map(({ client_id, client_secret }) => ({
          ...row,
          client_id,
          name: client_id,
          usage_count: 0,
          last_used_at: null,
          key_digest: keyDigest(client_secret),
          key_digest_binding: digestBinding(row.client_secret_hash),
          previous_key_digest: null,
        })),
      );
    }
    return keys;
  } finally {
    await db.destroy();
  }
}
