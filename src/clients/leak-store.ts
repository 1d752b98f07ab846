import type { Tx } from '../unit-of-work.js';

/** What a team wants done with a key a secret scanner reports: revoked at once, or only flagged. */
export type LeakedKeyAction = 'revoke' | 'flag';
export const LEAKED_KEY_ACTIONS: readonly LeakedKeyAction[] = ['revoke', 'flag'];

/** Who reported a leak: GitHub's secret scanning (signed), or the operator for another scanner. */
export type LeakScanner = 'github' | 'operator';

export interface LeakStore {
  /**
   * Records a signed report by the SHA-256 of its raw body, inside `tx`; false
   * when that body was recorded before (a replay): the caller then rolls back.
   */
  remember(report: { digest: string; scanner: LeakScanner; tokens: number; at: number }, tx: Tx): Promise<boolean>;
  /** The team's choice (`revoke` unless set), read inside `tx`. */
  actionOf(teamId: number, tx: Tx): Promise<LeakedKeyAction>;
  /** Sets the team's choice; false when there is no such team. */
  setAction(teamId: number, action: LeakedKeyAction): Promise<boolean>;
}
