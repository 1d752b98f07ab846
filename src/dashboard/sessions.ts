import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../persistence/sql/knex.js';

/** An idle dashboard session ends after this long. */
export const IDLE_SECONDS = 30 * 60;
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
  /** The live session the cookie names, refreshed; undefined when unknown or idle too long. */
  find(cookie: string | undefined): Promise<DashboardSession | undefined>;
  end(cookie: string | undefined): Promise<void>;
  /** Records a form's nonce as used; false when it was used already (a reload of a POST). */
  useNonce(session: DashboardSession, nonce: string): Promise<boolean>;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');
const now = () => Math.floor(Date.now() / 1000);

export function createDashboardSessions(db: Db): DashboardSessions {
  return {
    async create(userId, teamId) {
      const cookie = randomBytes(32).toString('base64url');
      await db('dashboard_sessions').insert({
        id: digest(cookie),
        user_id: userId,
        team_id: teamId,
        created_at: now(),
        last_seen_at: now(),
      });
      // Sessions idle past their end are deleted as new ones start.
      await db('dashboard_sessions')
        .where('last_seen_at', '<', now() - IDLE_SECONDS)
        .delete();
      return cookie;
    },

    async find(cookie) {
      if (!cookie || !/^[\w-]{43}$/.test(cookie)) return undefined;
      const id = digest(cookie);
      const row = await db('dashboard_sessions').where({ id }).first();
      if (!row || row.id !== id) return undefined;
      const seen = Number(row.last_seen_at);
      if (now() - seen > IDLE_SECONDS) {
        await db('dashboard_sessions').where({ id }).delete();
        return undefined;
      }
      if (now() - seen >= TOUCH_EVERY_SECONDS)
        await db('dashboard_sessions').where({ id }).update({ last_seen_at: now() });
      return {
        id,
        userId: Number(row.user_id),
        teamId: Number(row.team_id),
        lastFormNonce: row.last_form_nonce ?? null,
      };
    },

    async end(cookie) {
      if (cookie)
        await db('dashboard_sessions')
          .where({ id: digest(cookie) })
          .delete();
    },

    async useNonce(session, nonce) {
      // Conditional: two submissions of one form cannot both pass.
      const updated = await db('dashboard_sessions')
        .where({ id: session.id })
        .andWhere((q) => q.whereNull('last_form_nonce').orWhereNot('last_form_nonce', nonce))
        .update({ last_form_nonce: nonce });
      return updated === 1;
    },
  };
}
