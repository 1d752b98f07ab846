import { createHash, randomBytes } from 'node:crypto';
import { Conflict, InvalidRequest, NotFound } from '../errors.js';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import { canonicalEmail } from '../teams/email.js';
import { generatePassword, hashPassword } from '../teams/people.js';
import { STAFF_ROLES, type StaffAccount, type StaffRole, type StaffStore } from './staff.js';

export const RECOVERY_CODES = 10;
export const recoveryDigest = (code: string) =>
  createHash('sha256').update(code.replace(/[\s-]/g, '').toLowerCase()).digest('hex');

export interface StaffService {
  /** A new account; with no password given, one is generated and returned this once. */
  add(input: {
    email: string;
    role: string;
    password?: string;
  }): Promise<{ account: StaffAccount; generated?: string }>;
  /** Disables the account and ends its sessions at once; how many ended. */
  disable(email: string): Promise<{ account: StaffAccount; sessionsEnded: number }>;
  list(): Promise<StaffAccount[]>;
  /** New recovery codes (shown once), stored as digests beside the sealed TOTP secret. */
  enrol(staffId: number, totpSealed: string): Promise<string[]>;
  useRecoveryCode(staffId: number, code: string): Promise<boolean>;
  /** Accepts a TOTP time step once: false when it (or a later one) was used already. */
  useTotpStep(staffId: number, step: number): Promise<boolean>;
}

export function staffRoleOf(role: string): StaffRole {
  if (!(STAFF_ROLES as readonly string[]).includes(role))
    throw new InvalidRequest('role', `must be one of ${STAFF_ROLES.join(', ')}`);
  return role as StaffRole;
}

export function createStaffService({ store, clock = systemClock }: { store: StaffStore; clock?: Clock }): StaffService {
  const now = () => secondsOf(clock);
  return {
    async add({ email: typed, role, password }) {
      const email = canonicalEmail(typed);
      if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254)
        throw new InvalidRequest('email', 'must be an email address');
      const staffRole = staffRoleOf(role);
      if (await store.findByEmail(email)) throw new Conflict(`email: a staff account for ${email} exists already`);
      const generated = password === undefined ? generatePassword() : undefined;
      const passwordHash = await hashPassword(password ?? generated!);
      const account = await store.insert({ email, role: staffRole, passwordHash, createdAt: now() });
      return { account, ...(generated ? { generated } : {}) };
    },

    async disable(typed) {
      const account = await store.findByEmail(canonicalEmail(typed));
      if (!account) throw new NotFound(`email: there is no staff account for ${typed}`);
      if (account.disabledAt === null) await store.disable(account.id, now());
      const sessionsEnded = await store.deleteSessionsOf(account.id);
      return { account: (await store.findById(account.id))!, sessionsEnded };
    },

    list: () => store.list(),

    async enrol(staffId, totpSealed) {
      const codes = Array.from({ length: RECOVERY_CODES }, () => {
        const raw = randomBytes(5).toString('hex');
        return `${raw.slice(0, 5)}-${raw.slice(5)}`;
      });
      await store.enrol(staffId, totpSealed, codes.map(recoveryDigest));
      return codes;
    },

    useRecoveryCode: (staffId, code) => store.useRecoveryCode(staffId, recoveryDigest(code), now()),
    useTotpStep: (staffId, step) => store.useTotpStep(staffId, step),
  };
}
