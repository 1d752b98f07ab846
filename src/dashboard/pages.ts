import type { ClientView } from '../clients/client.js';
import { documentOf, html, type SafeHtml } from '../web/html.js';
import type { UsageReport } from '../clients/key-usage.js';
import { usageChart } from './chart.js';
import { restrictionDetails, restrictionFields } from './key-restrictions.js';
import { permissionDetails, permissionFields } from './key-permissions.js';
import type { Role } from '../clients/roles.js';

/** What every dashboard page knows about who is looking. */
export interface Viewer {
  readonly email: string;
  readonly teamName: string;
  readonly admin: boolean;
  readonly csrf: string;
}

export type KeyStatus = 'active' | 'expires soon' | 'expired' | 'revoked' | 'never used' | 'unused for 30 days';
export const KEY_STATUSES: readonly KeyStatus[] = [
  'active',
  'expires soon',
  'expired',
  'revoked',
  'never used',
  'unused for 30 days',
];

const DAY = 86_400_000;

/** The one badge a key shows, the most urgent first. */
export function statusOf(key: ClientView & { revoked?: boolean }, now = Date.now()): KeyStatus {
  if (!key.is_valid) return key.expires_at && Date.parse(key.expires_at) <= now ? 'expired' : 'revoked';
  if (key.expires_at && Date.parse(key.expires_at) - now < 7 * DAY) return 'expires soon';
  if (!key.last_used_at) return 'never used';
  if (now - Date.parse(key.last_used_at) > 30 * DAY) return 'unused for 30 days';
  return 'active';
}

/** The key's recognisable hint: its prefix and first characters, or its public key's id. */
export function hintOf(key: ClientView, prefix: string): string {
  if (key.secret_hint) return `${prefix}_sk_${key.environment}_${key.secret_hint}…`;
  if (key.public_key_kids?.length) return `kid ${key.public_key_kids[0]!.slice(0, 12)}…`;
  return '—';
}

const date = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—');

export function layout(title: string, viewer: Viewer | undefined, body: SafeHtml, current = ''): string {
  const link = (href: string, label: string) =>
    html`<a href="${href}"${current === href ? html` aria-current="page"` : ''}>${label}</a>`;
  const header = html`<header class="top">
<span class="brand">keyport</span>
${
  viewer
    ? html`<nav aria-label="Dashboard">${link('/dashboard/keys', 'API keys')} ${link('/dashboard/members', 'Members')} ${link('/dashboard/roles', 'Roles')} ${link('/dashboard/audit', 'Audit log')} ${viewer.admin ? html`${link('/dashboard/webhooks', 'Webhooks')} ` : ''}${link('/dashboard/account', 'Account')}</nav>
<form method="post" action="/dashboard/signout" class="signout"><input type="hidden" name="csrf" value="${viewer.csrf}"><button type="submit" class="secondary">Sign out ${viewer.email}</button></form>`
    : ''
}
</header>`;
  return documentOf(title, body, { bodyClass: 'dashboard', header, mainClass: 'wide', script: '/static/dashboard.js' });
}

export interface SignInChoices {
  /** The product's name when its OpenID Connect provider signs people in (config: dashboard_oidc). */
  readonly product?: string;
  /** False when email-and-password sign-in is off (config: dashboard_password_sign_in). */
  readonly passwords: boolean;
}

export function signInPage(
  v: { csrf: string; email?: string; error?: string },
  choices: SignInChoices = { passwords: true },
): SafeHtml {
  const product = choices.product
    ? html`<p><a class="button" id="product-sign-in" href="/dashboard/oidc/start">Sign in with ${choices.product}</a></p>`
    : '';
  if (!choices.passwords)
    return html`<p>Sign in with your account at ${choices.product ?? 'your product'}.</p>${product}`;
  return html`${product}<p>Sign in with the email and password of a person of your team.</p>
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<form method="post" action="/dashboard/signin" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${v.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`;
}

export function kindLabel(kind: string): string {
  return kind === 'service_account'
    ? 'secret'
    : kind === 'service_account_jwt'
      ? 'public key'
      : kind === 'app'
        ? 'app'
        : kind;
}

/** The secret, once: with a copy button; leaving asks for confirmation (dashboard.js). */
export function secretPanel(v: {
  name: string;
  clientId: string;
  secret?: string;
  shareUrl?: string;
  what: string;
}): SafeHtml {
  return html`<section class="secret-panel" id="secret-panel" aria-labelledby="secret-title" data-confirm-leave="You won't see this secret again. Leave the page?">
<h2 id="secret-title">${v.what}: ${v.name}</h2>
${
  v.shareUrl
    ? html`<p>Send this one-time link to the customer. It shows the secret once.</p><code class="value" id="share-url">${v.shareUrl}</code><button type="button" class="copy" data-copy="share-url">Copy link</button>`
    : v.secret
      ? html`<p><strong>Copy the secret now: you won't see it again.</strong> It is also the API key: send it as <code>Authorization: Bearer …</code> or <code>x-api-key</code>.</p>
<code class="value" id="new-secret">${v.secret}</code><button type="button" class="copy" data-copy="new-secret" id="copy">Copy</button>`
      : html`<p>This key has no secret: it authenticates with its public key.</p>`
}
<p>client_id: <code id="new-client-id">${v.clientId}</code></p>
<p><a href="/dashboard/keys/${v.clientId}" id="done">I have stored it: go to the key</a></p>
</section>`;
}

export interface KeyPageView {
  readonly viewer: Viewer;
  readonly key: ClientView & { status: KeyStatus; hint: string };
  readonly scopes: Readonly<Record<string, string>>;
  /** The roles the key may hold: the product's and its team's own. */
  readonly roles: readonly Role[];
  readonly usage: UsageReport;
  /** The key's events, already in words (audit-events.ts). */
  readonly events: SafeHtml;
}

export function keyPage(v: KeyPageView): SafeHtml {
  const k = v.key;
  const scopeBoxes = Object.entries(v.scopes).map(
    ([name, description], i) =>
      html`<div class="check"><input type="checkbox" id="edit-scope-${i}" name="scopes" value="${name}"${k.scopes.includes(name) ? html` checked` : ''}><label for="edit-scope-${i}"><code>${name}</code>: ${description}</label></div>`,
  );
  const canManage = v.viewer.admin && k.is_valid;
  return html`<dl class="details">
<dt>Status</dt><dd><span class="badge ${k.status.replace(/ /g, '-')}" id="status">${k.status}</span>${k.leaked_at ? html` <span class="badge leaked" id="leaked">found in public ${date(k.leaked_at)}${k.is_valid ? ': rotate it now' : ''}</span>` : ''}</dd>
<dt>Key</dt><dd><code>${k.hint}</code></dd>
<dt>client_id</dt><dd><code>${k.client_id}</code></dd>
<dt>Kind</dt><dd>${kindLabel(k.kind)}</dd>
<dt>Environment</dt><dd>${k.environment}</dd>
<dt>Scopes</dt><dd>${k.scopes.join(' ') || '—'}</dd>
<dt>Created</dt><dd>${date(k.created_at)}</dd>
<dt>Expires</dt><dd>${date(k.expires_at)}</dd>
<dt>Last used</dt><dd id="last-used">${date(k.last_used_at)}</dd>
<dt>Calls</dt><dd>${k.usage_count}</dd>
${permissionDetails(k, v.roles)}
${restrictionDetails(k)}
${k.credits ? html`<dt>Credits left</dt><dd>${k.credits.remaining}${k.credits.refill ? html` (refilled to ${k.credits.refill.amount} each ${k.credits.refill.interval})` : ''}</dd>` : ''}
</dl>
<section aria-labelledby="chart-title"><h2 id="chart-title">Calls per hour, last 7 days</h2>${usageChart(v.usage.data)}</section>
<section aria-labelledby="addresses-title"><h2 id="addresses-title">Last source addresses</h2>
${
  v.usage.addresses.length
    ? html`<div class="table-wrap"><table class="cards"><thead><tr><th scope="col">Address</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Calls</th></tr></thead><tbody>${v.usage.addresses.map((a) => html`<tr><td class="name"><code>${a.address}</code></td><td data-label="First seen">${date(a.first_seen)}</td><td data-label="Last seen">${date(a.last_seen)}</td><td data-label="Calls">${a.count}</td></tr>`)}</tbody></table></div>`
    : html`<p>No direct API calls yet.</p>`
}</section>
${
  canManage
    ? html`<section aria-labelledby="edit-title"><h2 id="edit-title">Edit</h2>
<form method="post" action="/dashboard/keys/${k.client_id}/edit" class="narrow">
<input type="hidden" name="csrf" value="${v.viewer.csrf}">
<label for="edit-name">Name</label><input id="edit-name" name="name" value="${k.name ?? ''}" required maxlength="200">
<fieldset><legend>Scopes</legend>${scopeBoxes}</fieldset>
${permissionFields(k, v.roles)}
${restrictionFields(k)}
<button type="submit" id="save">Save</button>
</form></section>
${
  k.kind === 'service_account' || k.kind === 'app'
    ? html`<section aria-labelledby="rotate-title"><h2 id="rotate-title">Rotate the secret</h2>
<p>A new secret, shown once; you choose how long the old one keeps working.</p>
<p><a class="button" href="/dashboard/keys/${k.client_id}/rotate" id="rotate">Rotate the secret…</a></p></section>`
    : ''
}
<section aria-labelledby="revoke-title"><h2 id="revoke-title">Revoke</h2>
<p>Revoking stops the key and every token it got, for good.</p>
<p><a class="button danger" href="/dashboard/keys/${k.client_id}/revoke" id="revoke">Revoke this key…</a></p></section>`
    : ''
}
<section aria-labelledby="events-title"><h2 id="events-title">This key's events</h2>${v.events}</section>`;
}

export function revokePage(v: { viewer: Viewer; key: ClientView }): SafeHtml {
  return html`<p>Revoke <strong id="revoke-name">${v.key.name ?? v.key.client_id}</strong> (<code>${v.key.client_id}</code>)? It stops working at once, with every token it got. This cannot be undone.</p>
<form method="post" action="/dashboard/keys/${v.key.client_id}/revoke" class="row">
<input type="hidden" name="csrf" value="${v.viewer.csrf}">
<button type="submit" class="danger" id="confirm-revoke">Revoke ${v.key.name ?? v.key.client_id}</button>
<a class="button secondary" href="/dashboard/keys/${v.key.client_id}">Cancel</a>
</form>`;
}

export function membersPage(v: {
  members: ReadonlyArray<{
    name: string;
    kind: 'person' | 'service account';
    role: string;
    key?: { clientId: string; name: string };
  }>;
}): SafeHtml {
  return html`<div class="table-wrap"><table id="members" class="cards"><thead><tr><th scope="col">Member</th><th scope="col">Kind</th><th scope="col">Role</th><th scope="col">Key</th></tr></thead>
<tbody>${v.members.map((m) => html`<tr><td class="name">${m.name}</td><td data-label="Kind">${m.kind}</td><td data-label="Role">${m.role}</td><td data-label="Key">${m.key ? html`<a href="/dashboard/keys/${m.key.clientId}">${m.key.name}</a>` : '—'}</td></tr>`)}</tbody></table></div>`;
}

export function auditPage(v: { events: SafeHtml; page: { number: number; pages: number } }): SafeHtml {
  return html`${v.events}
<nav class="pages" aria-label="Pages">${v.page.number > 1 ? html`<a href="?page=${v.page.number - 1}" rel="prev">Previous</a>` : ''} <span>Page ${v.page.number} of ${v.page.pages}</span> ${v.page.number < v.page.pages ? html`<a href="?page=${v.page.number + 1}" rel="next">Next</a>` : ''}</nav>`;
}

export function messagePage(text: string, error = false): SafeHtml {
  return html`<p${error ? html` class="error" role="alert"` : ''} id="message">${text}</p><p><a href="/dashboard/keys">Back to the keys</a></p>`;
}
