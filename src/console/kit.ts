import type { RouterContext } from '@koa/router';
import type Koa from 'koa';
import type { AuditAction } from '../audit/audit.js';
import type { StaffAction } from '../access/staff-access.js';
import type { StaffAccount, StaffSessionRecord } from '../staff/staff.js';
import type { SafeHtml } from '../web/html.js';

export interface State {
  staff?: StaffAccount;
  staffSession?: StaffSessionRecord;
  csrf?: string;
  route?: string;
  limitReason?: string;
}
export type Ctx = RouterContext<State>;
export type Step = (ctx: Ctx, next: Koa.Next) => unknown;

/** The console's named steps, made once by router.ts and shared by its route files. */
export interface Kit {
  readonly form: Step;
  /** A signed-in staff member (password and second factor), or a redirect to sign in. */
  readonly requireStaff: Step;
  readonly checkCsrf: Step;
  /** The staff role may do this (access/staff-access.ts), or 403. */
  allow(action: StaffAction): Step;
  /** A change needs a typed reason (issue 29 item 4): 400 without one, nothing changed. */
  readonly requireReason: Step;
  render(ctx: Ctx, status: number, title: string, body: SafeHtml): void;
  field(ctx: Ctx, name: string): string;
  fields(ctx: Ctx, name: string): string[];
  /** An audit row naming the staff account, the reason, the team and the key. */
  record(
    ctx: Ctx,
    action: AuditAction,
    teamId: number,
    clientId: string | null,
    details?: Record<string, unknown>,
  ): Promise<void>;
}
