import type { BearerCaller } from '../access/callers.js';
import type { Actor } from '../access/principal.js';

/** What the admin API's steps leave on ctx.state for the next ones (caller-steps.ts). */
export interface AdminState {
  principal?: BearerCaller['principal'];
  /** Who the audit log names, for answers and failures alike. */
  caller?: Actor;
  /** The calling client, whose plan budget the call spends; absent for the operator. */
  client?: BearerCaller['client'];
  teamId: number;
  /** Why a 429 was answered, for logs and metrics. */
  limitReason?: string;
}
