import { createHash, randomBytes } from 'node:crypto';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import type { SessionStore } from '../teams/session-store.js';

/** An idle dashboard session ends after this long. */
export const IDLE_SECONDS = 30 * 60;
/** However active, a session ends this long after sign-in (the default of `dashboard_session_max_seconds`). */
export const MAX_SECONDS = 12 * 3600;
// last_seen_at is written at most this often, not on every page.
const TOUCH_EVERY_SECONDS = 60;

export interface DashboardSession {
  readonly id: string;
  readonly userId: number;
  readonly teamId: number;
  readonly lastFormNonce: string | null;
}

export interface DashboardSessions {
  /** A new session; returns the cookie value (shown to the browser only). */
  create(userId: number, teamId: number): Promise<string>;
  /** The live session the cookie names, refreshed; undefined when unknown, idle too long or past its lifetime. */
  find(cookie: string | undefined): Promise<DashboardSession | undefined>;
  end(cookie: string | undefined): Promise<void>;
  /** Ends every session of the person, but the one with id `except` when given; how many. */
  endAllOf(userId: number, except?: string): Promise<number>;
  /** Records a form's nonce as used; false when it was used already (a reload of a POST). */
  useNonce(session: DashboardSession, nonce: string): Promise<boolean>;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

export function createDashboardSessions(
  store: SessionStore,
  clock: Clock = systemClock,
  { maxSeconds = MAX_SECONDS }: { maxSeconds?: number } = {},
): DashboardSessions {
  const now = () => secondsOf(clock);
  return {
    async create(userId, teamId) {
      const cookie = randomBytes(32).toString('base64url');
      await store.insert({ id: digest(cookie), userId, teamId, createdAt: now(), lastSeenAt: now() });
      // Sessions idle past their end are deleted as new ones start.
      await store.deleteSeenBefore(now() - IDLE_SECONDS);
      return cookie;
    },

    async find(cookie) {
      if (!cookie || !/^[\w-]{43}$/.test(cookie)) return undefined;
      const session = await store.find(digest(cookie));
      if (!session) return undefined;
      // Idle too long, or signed in too long ago whatever the activity since (a stolen cookie ages out).
      if (now() - session.lastSeenAt > IDLE_SECONDS || now() - session.createdAt > maxSeconds) {
        await store.delete(session.id);
        return undefined;
      }
      if (now() - session.lastSeenAt >= TOUCH_EVERY_SECONDS) await store.touch(session.id, now());
      const { id, userId, teamId, lastFormNonce } = session;
      return { id, userId, teamId, lastFormNonce };
    },

    async end(cookie) {
      if (cookie) await store.delete(digest(cookie));
    },

    endAllOf: (userId, except) => store.deleteForUser(userId, except),

    useNonce: (session, nonce) => store.useNonce(session.id, nonce),
  };
}
