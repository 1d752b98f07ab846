import type { AuditAction, AuditEventView } from '../audit/audit.js';
import type { ClientService } from '../clients/service.js';
import type { TeamStore } from '../teams/store.js';
import { html, type SafeHtml } from '../web/html.js';
import { assertNever } from '../errors.js';

/** Who and which key an event names, in the words a person knows them by. */
export interface Names {
  /** A person's email, by user id. */
  readonly people: ReadonlyMap<string, string>;
  /** A key's name, by client id. */
  readonly keys: ReadonlyMap<string, string>;
}

/** The people and keys the events name: people by email, keys by name (a removed person keeps their email). */
export async function namesFor(
  teams: TeamStore,
  clientService: ClientService,
  teamId: number,
  events: readonly AuditEventView[],
): Promise<Names> {
  const people = new Map<string, string>();
  const named = [
    ...events.filter((e) => e.actor.type === 'person' && e.actor.id).map((e) => e.actor.id!),
    // The person a team change was about (a role, a password, a removal).
    ...events.filter((e) => e.details && 'user_id' in e.details).map((e) => String(e.details!.user_id)),
  ];
  for (const id of new Set(named)) {
    const user = await teams.findUser(Number(id));
    if (user?.email) people.set(id, user.email);
  }
  const keys = new Map(
    (await clientService.list(teamId, { limit: 1000, offset: 0 })).data.map((k) => [
      k.client_id,
      k.name ?? k.client_id,
    ]),
  );
  return { people, keys };
}

const GRACE: Record<number, string> = { 3600: '1 hour', 86_400: '24 hours', 604_800: '7 days' };

/** What happened, as a sentence whose subject is the "Who" column: "rotated the secret of ci". */
export function sentenceOf(
  action: AuditAction,
  key: SafeHtml,
  details: Record<string, unknown> | null,
  names?: Names,
): SafeHtml {
  const person = () => {
    const id = details && 'user_id' in details ? String(details.user_id) : undefined;
    const email = details && typeof details.email === 'string' ? details.email : undefined;
    return (id && names?.people.get(id)) ?? email ?? 'a former member';
  };
  switch (action) {
    case 'client.create':
      return html`created the key ${key}`;
    case 'client.update': {
      const changed = Array.isArray(details?.fields) ? details.fields.map(String) : [];
      return changed.length ? html`changed the ${changed.join(' and ')} of ${key}` : html`changed ${key}`;
    }
    case 'client.revoke':
      return html`revoked ${key}`;
    case 'client.leaked':
      return details?.action === 'revoked'
        ? html`reported ${key} found in public (${String(details?.url ?? 'no address given')}); it was revoked`
        : html`reported ${key} found in public (${String(details?.url ?? 'no address given')}); it was flagged`;
    case 'client.secret.regenerate': {
      const grace = Number(details?.grace_period_seconds ?? 0);
      return html`rotated the secret of ${key}${GRACE[grace] ? `; the old one works for ${GRACE[grace]}` : '; the old one stopped at once'}`;
    }
    case 'client.key.add':
      return html`added a public key to ${key}`;
    case 'client.key.remove':
      return html`removed a public key from ${key}`;
    case 'role.create':
      return html`made the role ${String(details?.role_id ?? '')}`;
    case 'role.update':
      return html`changed the role ${String(details?.role_id ?? '')}; every key holding it changed with it`;
    case 'role.remove':
      return html`deleted the role ${String(details?.role_id ?? '')}; the keys holding it lost it`;
    case 'share.opened':
      return html`opened the one-time link of ${key}`;
    case 'share.expired':
      return html`let the one-time link of ${key} expire unopened${details?.key_revoked ? '; the key was revoked' : ''}`;
    case 'person.password.change':
      return html`changed their password; their other sessions were signed out`;
    case 'person.signout.everywhere':
      return html`signed out everywhere`;
    case 'request.failed':
      return html`was refused with ${key}${details && 'reason' in details ? ` (${String(details.reason)})` : ''}`;
    case 'team.leaked_keys.change':
      return details?.action === 'flag'
        ? html`set the team's leaked keys to be flagged only`
        : html`set the team's leaked keys to be revoked at once`;
    case 'team.plan.change':
      return html`changed the team's plan to ${String(details?.plan ?? '')}${details?.previous ? ` (it was ${String(details.previous)})` : ''}`;
    case 'member.role.change': {
      // The operator's and the team's changes write `role`; the product's sign-in and hand-off `from` and `to`.
      const role = details?.role ?? details?.to;
      const as = role === 'admin' ? 'an admin' : 'a member';
      const via =
        details?.by === 'handoff'
          ? ' (hand-off from the product)'
          : details?.by === 'product_sign_in'
            ? ' (signed in with the product)'
            : '';
      return details && 'from' in details && details.from === null
        ? html`joined the team as ${as}${via}`
        : html`made ${person()} ${as}${via}`;
    }
    case 'member.password.reset':
      return html`reset the password of ${person()}`;
    case 'member.remove':
      return html`removed ${person()} from the team`;
    case 'team.sync':
      return details?.created
        ? html`synced the team from the product (plan ${String(details?.plan ?? '')})`
        : html`synced the team's name and plan from the product (plan ${String(details?.plan ?? '')})`;
    case 'team.suspend':
      return html`suspended the team for the product: its keys stopped`;
    case 'member.sync':
      return html`synced ${person()} from the product as ${details?.role === 'admin' ? 'an admin' : 'a member'}`;
    case 'webhook.create':
      return html`registered the webhook endpoint ${String(details?.url ?? '')}`;
    case 'webhook.remove':
      return html`removed the webhook endpoint ${String(details?.url ?? '')}`;
    case 'webhook.retry':
      return html`sent the webhook ${String(details?.event_type ?? '')} again (${String(details?.delivery_id ?? '')})`;
    case 'sync_token.create':
      return html`made the product's sync token ${String(details?.name ?? '')}`;
    case 'sync_token.revoke':
      return html`revoked the product's sync token ${String(details?.name ?? '')}`;
    default:
      return assertNever(action);
  }
}

function whoOf(e: AuditEventView, names: Names): string {
  switch (e.actor.type) {
    case 'person':
      return (e.actor.id && names.people.get(e.actor.id)) ?? 'a former member';
    case 'client':
      return `the key ${(e.actor.id && names.keys.get(e.actor.id)) ?? e.actor.id ?? ''}`.trim();
    case 'operator':
      return 'the operator';
    case 'sync_token':
      return `the product's sync (token ${e.actor.id ?? ''})`;
    case 'scanner':
      return e.actor.id === 'github' ? "GitHub's secret scanning" : 'a secret scanner';
    case 'staff':
      return `keyport support (${String(e.details?.staff_email ?? e.actor.id ?? '')})`;
    default:
      return 'someone';
  }
}

const date = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** The events as a table (cards on a phone): when, who, what in words, from where. */
export function eventsTable(events: readonly AuditEventView[], names: Names): SafeHtml {
  if (!events.length) return html`<p>No events yet.</p>`;
  const keyOf = (e: AuditEventView) =>
    e.client_id
      ? html`<a href="/dashboard/keys/${e.client_id}">${names.keys.get(e.client_id) ?? e.client_id}</a>`
      : html`a key`;
  return html`<div class="table-wrap"><table class="events cards"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">From</th></tr></thead>
<tbody>${events.map((e) => html`<tr><td data-label="When">${date(e.created_at)}</td><td data-label="Who" class="who">${whoOf(e, names)}</td><td data-label="What" class="what"><span>${sentenceOf(e.action, keyOf(e), e.details, names)}</span></td><td data-label="From">${e.ip ?? '—'}</td></tr>`)}</tbody></table></div>`;
}
