import type { StaffAccount, StaffRole, StaffSessionRecord, StaffStore } from '../../staff/staff.js';
import { insertId, type Db } from './knex.js';

type Row = Record<string, unknown>;

const accountOf = (row: Row): StaffAccount => ({
  id: Number(row.id),
  email: String(row.email),
  role: String(row.role) as StaffRole,
  passwordHash: String(row.password_hash),
  totpSealed: (row.totp_sealed as string | null) ?? null,
  createdAt: Number(row.created_at),
  disabledAt: row.disabled_at === null || row.disabled_at === undefined ? null : Number(row.disabled_at),
});

/** StaffStore on staff_accounts, staff_recovery_codes and staff_sessions. */
export function createSqlStaffStore(db: Db): StaffStore {
  return {
    async insert(a) {
      const id = await insertId(
        db,
        db('staff_accounts').insert({
          email: a.email,
          role: a.role,
          password_hash: a.passwordHash,
          created_at: a.createdAt,
        }),
      );
      return accountOf((await db('staff_accounts').where({ id }).first()) as Row);
    },

    async findByEmail(email) {
      const row = (await db('staff_accounts').where({ email }).first()) as Row | undefined;
      return row && String(row.email) === email ? accountOf(row) : undefined;
    },

    async findById(id) {
      const row = (await db('staff_accounts').where({ id }).first()) as Row | undefined;
      return row ? accountOf(row) : undefined;
    },

    async list() {
      return ((await db('staff_accounts').orderBy('id')) as Row[]).map(accountOf);
    },

    async enrol(id, totpSealed, digests) {
      await db.transaction(async (trx) => {
        await trx('staff_accounts').where({ id }).update({ totp_sealed: totpSealed });
        await trx('staff_recovery_codes').where({ staff_id: id }).delete();
        await trx('staff_recovery_codes').insert(digests.map((code_digest) => ({ staff_id: id, code_digest })));
      });
    },

    async useTotpStep(id, step) {
      // One conditional write: of two sign-ins racing with one code, one wins.
      const changed = await db('staff_accounts')
        .where({ id })
        .andWhere((q) => q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
        .update({ totp_last_step: step });
      return changed === 1;
    },

    async useRecoveryCode(id, digest, at) {
      const changed = await db('staff_recovery_codes')
        .where({ staff_id: id, code_digest: digest })
        .whereNull('used_at')
        .update({ used_at: at });
      return changed === 1;
    },

    async disable(id, at) {
      await db('staff_accounts').where({ id }).update({ disabled_at: at });
    },

    async insertSession(s) {
      await db('staff_sessions').insert({
        id: s.id,
        staff_id: s.staffId,
        stage: s.stage,
        pending_totp: s.pendingTotp,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
      });
    },

    async findSession(id) {
      const row = (await db('staff_sessions').where({ id }).first()) as Row | undefined;
      if (!row || row.id !== id) return undefined;
      return {
        id,
        staffId: Number(row.staff_id),
        stage: String(row.stage) as StaffSessionRecord['stage'],
        pendingTotp: (row.pending_totp as string | null) ?? null,
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
      };
    },

    async updateSession(id, changes) {
      const update: Row = {};
      if (changes.stage) update.stage = changes.stage;
      if (changes.pendingTotp !== undefined) update.pending_totp = changes.pendingTotp;
      if (changes.lastSeenAt !== undefined) update.last_seen_at = changes.lastSeenAt;
      if (Object.keys(update).length) await db('staff_sessions').where({ id }).update(update);
    },

    async deleteSession(id) {
      await db('staff_sessions').where({ id }).delete();
    },

    deleteSessionsOf: (staffId) => db('staff_sessions').where({ staff_id: staffId }).delete(),

    deleteSessionsSeenBefore: (before) => db('staff_sessions').where('last_seen_at', '<', before).delete(),
  };
}
