import type { Caller } from '../access/callers.js';

/** What the admin API's steps leave on ctx.state for the next ones. */
export interface AdminState {
  caller?: Caller;
  teamId: number;
  /** Why a 429 was answered, for logs and metrics. */
  limitReason?: string;
}
