import type { AuditEventView } from '../audit/audit.js';
import type { ClientView } from '../clients/client.js';
import type { PlanSettings } from '../config.js';
import type { WebhookEndpoint } from '../events/webhooks.js';
import type { Team, User } from '../teams/team.js';
import { html, type SafeHtml } from '../web/html.js';
import type { Found } from './find-teams.js';
import { reasonField } from './layout.js';

const date = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—');
const seconds = (s: number | null | undefined) =>
  s ? new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ') : '—';

export function searchPage(v: { q: string; found: readonly Found[]; searched: boolean }): SafeHtml {
  return html`<form method="get" action="/console/teams" class="narrow" role="search">
<label for="q">Team id, name, external id, a person's email, a client id or a key's visible prefix</label>
<input id="q" name="q" value="${v.q}" required maxlength="200" autofocus>
<button type="submit">Find</button>
</form>
${
  v.searched
    ? v.found.length
      ? html`<div class="table-wrap"><table class="cards" id="results"><caption>Teams found</caption><thead><tr><th scope="col">Team</th><th scope="col">Id</th><th scope="col">Plan</th><th scope="col">Matched by</th></tr></thead><tbody>${v.found.map((f) => html`<tr><td class="name"><a href="/console/teams/${f.team.id}">${f.team.name}</a></td><td data-label="Id">${f.team.id}</td><td data-label="Plan">${f.team.plan}</td><td data-label="Matched by">${f.by}</td></tr>`)}</tbody></table></div>`
      : html`<p role="status">No team matches “${v.q}”.</p>`
    : ''
}`;
}

const statusOf = (k: ClientView) =>
  k.is_valid ? 'active' : k.expires_at && Date.parse(k.expires_at) <= Date.now() ? 'expired' : 'revoked';
const hintOf = (k: ClientView, prefix: string) =>
  k.secret_hint ? `${prefix}_sk_${k.environment}_${k.secret_hint}…` : k.public_key_kids?.length ? 'public key' : '—';

const whoOf = (e: AuditEventView) =>
  e.actor.type === 'staff'
    ? `keyport support (${String(e.details?.staff_email ?? e.actor.id)})`
    : e.actor.type === 'person'
      ? `person ${e.actor.id ?? ''}`
      : e.actor.type === 'client'
        ? `key ${e.actor.id ?? ''}`
        : e.actor.type;

const LIFETIMES = html`<option value="3600">1 hour</option><option value="86400" selected>24 hours</option><option value="604800">7 days</option>`;

export interface TeamPageView {
  readonly csrf: string;
  readonly team: Team;
  readonly plan: PlanSettings;
  readonly plans: readonly string[];
  readonly members: ReadonlyArray<{ user: User; role: string }>;
  readonly keys: readonly ClientView[];
  readonly hooks: readonly WebhookEndpoint[];
  readonly events: readonly AuditEventView[];
  readonly keyPrefix: string;
  readonly mayChangeKeys: boolean;
  readonly mayChangePlan: boolean;
}

function keyActions(v: TeamPageView, k: ClientView, i: number): SafeHtml {
  if (!v.mayChangeKeys || !k.is_valid) return html``;
  const secret = k.kind === 'service_account' || k.kind === 'app';
  return html`<details><summary>Change ${k.name ?? k.client_id}</summary>
<form method="post" action="/console/keys/${k.client_id}/revoke" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
${reasonField(`revoke-reason-${i}`)}
<button type="submit" class="danger" id="revoke-${k.client_id}">Revoke</button>
</form>
${
  secret
    ? html`<form method="post" action="/console/keys/${k.client_id}/rotate" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="grace-${i}">Old secret keeps working</label>
<select id="grace-${i}" name="grace"><option value="0">Not at all (resend a fresh link)</option><option value="3600">1 hour</option><option value="86400">24 hours</option><option value="604800">7 days</option></select>
<label for="rotate-ttl-${i}">The link lives</label><select id="rotate-ttl-${i}" name="link_ttl">${LIFETIMES}</select>
${reasonField(`rotate-reason-${i}`)}
<button type="submit" id="rotate-${k.client_id}">Rotate and send a new link</button>
</form>`
    : ''
}</details>`;
}

export function teamPage(v: TeamPageView): SafeHtml {
  const t = v.team;
  const admins = v.members.filter((m) => m.role === 'admin' && m.user.email);
  return html`<dl class="details">
<dt>Team id</dt><dd id="team-id">${t.id}</dd>
<dt>External id</dt><dd>${t.externalId ?? '—'}</dd>
<dt>Plan</dt><dd id="plan">${t.plan}</dd>
<dt>API access</dt><dd id="api-access">${v.plan.api_access ? 'yes' : 'no'}</dd>
<dt>Key limit</dt><dd>${v.keys.filter((k) => k.is_valid).length} of ${v.plan.max_keys}</dd>
<dt>Suspended</dt><dd>${t.suspendedAt ? seconds(t.suspendedAt) : 'no'}</dd>
</dl>
<section aria-labelledby="people-title"><h2 id="people-title">People</h2>
<div class="table-wrap"><table class="cards"><thead><tr><th scope="col">Who</th><th scope="col">Kind</th><th scope="col">Role</th></tr></thead><tbody>${v.members.map((m) => html`<tr><td class="name">${m.user.email ?? m.user.name ?? m.user.id}</td><td data-label="Kind">${m.user.kind}</td><td data-label="Role">${m.role}</td></tr>`)}</tbody></table></div></section>
<section aria-labelledby="keys-title"><h2 id="keys-title">Keys</h2>
${
  v.keys.length
    ? html`<div class="table-wrap"><table class="cards" id="keys"><thead><tr><th scope="col">Name</th><th scope="col">client_id</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Key</th><th scope="col">Last used</th><th scope="col">Calls</th><th scope="col">Actions</th></tr></thead><tbody>${v.keys.map((k, i) => html`<tr><td class="name">${k.name ?? '—'}</td><td data-label="client_id"><code>${k.client_id}</code></td><td data-label="Kind">${k.kind}</td><td data-label="Status"><span class="badge ${statusOf(k)}">${statusOf(k)}</span></td><td data-label="Key"><code>${hintOf(k, v.keyPrefix)}</code></td><td data-label="Last used">${date(k.last_used_at)}</td><td data-label="Calls">${k.usage_count}</td><td data-label="Actions">${keyActions(v, k, i)}</td></tr>`)}</tbody></table></div>`
    : html`<p>No keys.</p>`
}</section>
${v.mayChangeKeys ? newKeyForm(v, admins) : ''}
${
  v.mayChangePlan
    ? html`<section aria-labelledby="plan-title"><h2 id="plan-title">Change the plan</h2>
<form method="post" action="/console/teams/${t.id}/plan" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="new-plan">Plan</label><select id="new-plan" name="plan">${v.plans.map((p) => html`<option value="${p}"${p === t.plan ? html` selected` : ''}>${p}</option>`)}</select>
${reasonField('plan-reason')}
<button type="submit" id="change-plan">Change the plan</button>
</form></section>`
    : ''
}
<section aria-labelledby="hooks-title"><h2 id="hooks-title">Webhooks</h2>
${
  v.hooks.length
    ? html`<ul>${v.hooks.map((h) => html`<li><code>${h.url}</code>: ${h.events.join(', ')}${h.disabledAt ? ' (disabled)' : h.failingSince ? ' (failing)' : ''}</li>`)}</ul>`
    : html`<p>No webhooks.</p>`
}</section>
<section aria-labelledby="events-title"><h2 id="events-title">Recent audit events</h2>
${
  v.events.length
    ? html`<div class="table-wrap"><table class="events cards" id="events"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Key</th><th scope="col">Reason</th></tr></thead><tbody>${v.events.map((e) => html`<tr><td data-label="When">${date(e.created_at)}</td><td data-label="Who" class="who">${whoOf(e)}</td><td data-label="What">${e.action}</td><td data-label="Key">${e.client_id ?? '—'}</td><td data-label="Reason" class="what">${String(e.details?.reason ?? '')}</td></tr>`)}</tbody></table></div>`
    : html`<p>No events yet.</p>`
}</section>`;
}

function newKeyForm(v: TeamPageView, admins: TeamPageView['members']): SafeHtml {
  return html`<section aria-labelledby="new-key-title"><h2 id="new-key-title">Create a key for the customer</h2>
<p>The secret goes to the customer in a one-time link; you never see it.</p>
<form method="post" action="/console/teams/${v.team.id}/keys" class="narrow" id="new-key">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="kind">Kind</label>
<select id="kind" name="kind"><option value="service_account">Service account (secret)</option><option value="service_account_jwt">Service account with JWT (customer's public key)</option><option value="app">OAuth app</option></select>
<label for="key-name">Name</label><input id="key-name" name="name" required maxlength="200">
<label for="requested-by">Requested by (a team admin's email)</label>
<input id="requested-by" name="requested_by" type="email" required list="team-admins">
<datalist id="team-admins">${admins.map((m) => html`<option value="${m.user.email}"></option>`)}</datalist>
<label for="public-key">Public key (JWT only): PEM or JWK, RSA ≥ 2048 bits or EC P-256</label>
<textarea id="public-key" name="public_key" rows="5"></textarea>
<label for="public-key-file">…or choose the customer's public key file</label><input id="public-key-file" type="file" accept=".pem,.json,.jwk,.pub,text/plain" data-fills="public-key">
<label for="redirect-uris">Redirect URIs (app only), one a line, or urn:ietf:wg:oauth:2.0:oob</label>
<textarea id="redirect-uris" name="redirect_uris" rows="3"></textarea>
<label for="link-ttl">The link lives</label><select id="link-ttl" name="link_ttl">${LIFETIMES}</select>
${reasonField('key-reason')}
<button type="submit" id="create-key">Create the key</button>
</form></section>`;
}

export function linkPage(v: { teamId: number; key: ClientView; shareUrl?: string; ttlSeconds: number }): SafeHtml {
  return html`<p>${v.key.kind} <strong>${v.key.name ?? v.key.client_id}</strong>, client_id <code id="new-client-id">${v.key.client_id}</code>.</p>
${
  v.shareUrl
    ? html`<p>Send this one-time link to the customer; it shows the secret once and lives ${Math.round(v.ttlSeconds / 3600)} hours. Opening it yourself would spend it.</p><code class="value" id="share-url">${v.shareUrl}</code>`
    : html`<p>This key has no secret: the customer signs with their own private key. Send them the client_id.</p>`
}
<p><a href="/console/teams/${v.teamId}" id="back-to-team">Back to the team</a></p>`;
}
