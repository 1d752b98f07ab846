import { createHash, randomBytes } from 'node:crypto';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import type { StaffAccount, StaffSessionRecord, StaffStore } from './staff.js';

/** A console session ends after this long idle… */
export const STAFF_IDLE_SECONDS = 15 * 60;
/** …and this long after sign-in, however active. */
export const STAFF_MAX_SECONDS = 8 * 3600;
/** Between the password and the second factor: at most this long. */
export const STAFF_SECOND_FACTOR_SECONDS = 10 * 60;
const TOUCH_EVERY_SECONDS = 30;

export interface StaffSessions {
  /** A session at the 'password' stage; returns the cookie value. */
  create(staffId: number): Promise<string>;
  /** The live session and its account; undefined when unknown, idle, too old, or the account is disabled. */
  find(cookie: string | undefined): Promise<{ session: StaffSessionRecord; account: StaffAccount } | undefined>;
  update(session: StaffSessionRecord, changes: { stage?: 'signed_in'; pendingTotp?: string | null }): Promise<void>;
  end(cookie: string | undefined): Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

export function createStaffSessions(store: StaffStore, clock: Clock = systemClock): StaffSessions {
  const now = () => secondsOf(clock);
  return {
    async create(staffId) {
      const cookie = randomBytes(32).toString('base64url');
      const at = now();
      await store.insertSession({
        id: digest(cookie),
        staffId,
        stage: 'password',
        pendingTotp: null,
        createdAt: at,
        lastSeenAt: at,
      });
      await store.deleteSessionsSeenBefore(at - STAFF_IDLE_SECONDS);
      return cookie;
    },

    async find(cookie) {
      if (!cookie || !/^[\w-]{43}$/.test(cookie)) return undefined;
      const session = await store.findSession(digest(cookie));
      if (!session) return undefined;
      const account = await store.findById(session.staffId);
      const age = now() - session.createdAt;
      const expired =
        now() - session.lastSeenAt > STAFF_IDLE_SECONDS ||
        age > STAFF_MAX_SECONDS ||
        (session.stage === 'password' && age > STAFF_SECOND_FACTOR_SECONDS);
      // A disabled account is out at its next request, whatever its sessions.
      if (!account || account.disabledAt !== null || expired) {
        await store.deleteSession(session.id);
        return undefined;
      }
      if (now() - session.lastSeenAt >= TOUCH_EVERY_SECONDS)
        await store.updateSession(session.id, { lastSeenAt: now() });
      return { session, account };
    },

    update: (session, changes) => store.updateSession(session.id, changes),

    async end(cookie) {
      if (cookie) await store.deleteSession(digest(cookie));
    },
  };
}
