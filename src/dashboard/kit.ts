import type { RouterContext } from '@koa/router';
import type Koa from 'koa';
import type { AuditAction } from '../audit/audit.js';
import type { ClientRecord, ClientView } from '../clients/client.js';
import type { TeamAction } from '../access/authorize.js';
import type { Principal } from '../access/principal.js';
import type { SafeHtml } from '../web/html.js';
import type { KeyStatus, Viewer } from './pages.js';
import type { DashboardSession } from './sessions.js';

export interface State {
  session?: DashboardSession;
  principal?: Extract<Principal, { kind: 'person' }>;
  viewer?: Viewer;
  route?: string;
  limitReason?: string;
}
export type Ctx = RouterContext<State>;
export type Step = (ctx: Ctx, next: Koa.Next) => unknown;

/** The dashboard's named steps and helpers, made once by router.ts and shared by its route files. */
export interface Kit {
  /** Parses an urlencoded form body. */
  readonly form: Step;
  readonly requireSession: Step;
  readonly checkCsrf: Step;
  /** The step that asks access/authorize.ts whether the signed-in person may act in their team. */
  allow(action: TeamAction): Step;
  /** A form that shows a secret works once: its nonce is spent by the first submission. */
  readonly spendNonce: Step;
  render(ctx: Ctx, status: number, title: string, body: SafeHtml, current?: string): void;
  /** The key in the path, if the person may act on it; another team's is 404, as in the admin API. */
  teamKey(ctx: Ctx, action: TeamAction): Promise<ClientRecord>;
  record(ctx: Ctx, action: AuditAction, clientId: string | null, details?: Record<string, unknown>): Promise<void>;
  field(ctx: Ctx, name: string): string;
  fields(ctx: Ctx, name: string): string[];
  decorate(key: ClientView): ClientView & { status: KeyStatus; hint: string };
  newNonce(): string;
}
