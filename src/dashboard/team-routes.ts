import type Router from '@koa/router';
import type { AuditStore } from '../audit/audit.js';
import type { ClientService } from '../clients/service.js';
import { InvalidRequest } from '../errors.js';
import type { TeamService } from '../teams/service.js';
import type { TeamStore } from '../teams/store.js';
import { eventsTable, namesFor } from './audit-events.js';
import type { Kit, State } from './kit.js';
import { auditPage, membersPage } from './pages.js';

const PAGE_SIZE = 20;
/** The highest page number asked for that is not a mistake (2,000,000 events back). */
const MAX_PAGE = 100_000;

/** `?page=N`: a whole number from 1 to MAX_PAGE, or absent (1); anything else is the client's mistake, never SQL's. */
function pageNumberOf(value: unknown): number {
  if (value === undefined) return 1;
  const text = String(value);
  const number = /^[1-9][0-9]{0,5}$/.test(text) ? Number(text) : NaN;
  if (!(number <= MAX_PAGE)) throw new InvalidRequest('page', `must be a whole number from 1 to ${MAX_PAGE}`);
  return number;
}
/** The team's members and its audit log. */
export function installTeamRoutes(
  router: Router<State>,
  kit: Kit,
  deps: { teams: TeamStore; teamService: TeamService; clientService: ClientService; audit: AuditStore },
): void {
  const { teams, teamService, clientService, audit } = deps;
  const { requireSession, allow, render } = kit;

  router.get('/members', requireSession, allow('members:read'), async (ctx) => {
    const teamId = ctx.state.session!.teamId;
    // The team service adopts rows inserted by hand first: they are listed as service accounts.
    const members = await teamService.listMembers(teamId);
    const keys = (await clientService.list(teamId, { limit: 1000, offset: 0 })).data;
    const keyOf = new Map(keys.filter((k) => k.user_id !== null).map((k) => [k.user_id!, k]));
    render(
      ctx,
      200,
      'Members',
      membersPage({
        members: members.map(({ user, role }) => {
          if (user.kind === 'person')
            return { name: user.email ?? user.name ?? `user ${user.id}`, kind: 'person' as const, role };
          const key = keyOf.get(user.id);
          return {
            name: user.name ?? `service account ${user.id}`,
            kind: 'service account' as const,
            role,
            ...(key ? { key: { clientId: key.client_id, name: key.name ?? key.client_id } } : {}),
          };
        }),
      }),
      '/dashboard/members',
    );
  });

  router.get('/audit', requireSession, allow('audit:read'), async (ctx) => {
    const teamId = ctx.state.session!.teamId;
    const number = pageNumberOf(ctx.query.page);
    const { total, events } = await audit.listByTeam(teamId, { limit: PAGE_SIZE, offset: (number - 1) * PAGE_SIZE });
    const names = await namesFor(teams, clientService, teamId, events);
    render(
      ctx,
      200,
      'Audit log',
      auditPage({
        events: eventsTable(events, names),
        page: { number, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) },
      }),
      '/dashboard/audit',
    );
  });
}
