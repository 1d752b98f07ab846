import type { ClientView } from '../clients/client.js';
import { html, type SafeHtml } from '../web/html.js';
import { kindLabel, type KeyStatus, type Viewer } from './pages.js';

type Listed = ClientView & { status: KeyStatus; hint: string };

/**
 * The lists a person switches between, as tabs (plain links): the keys in use by default,
 * the revoked and the expired ones apart, as Stripe and Unkey keep them out of the way.
 */
const TABS = [
  ['', 'In use'],
  ['revoked', 'Revoked'],
  ['expired', 'Expired'],
  ['all', 'All'],
] as const;
/** The statuses of a key in use, for the finer filter. */
const IN_USE: readonly KeyStatus[] = ['active', 'expires soon', 'never used', 'unused for 30 days'];

/** Whether a key belongs in the list `status` names ('' is the keys in use). */
export function inList(key: Listed, status: string): boolean {
  if (status === 'all') return true;
  if (!status) return key.is_valid;
  return key.status === status;
}

export interface KeysPageView {
  readonly viewer: Viewer;
  readonly keys: readonly Listed[];
  /** How many keys each tab holds. */
  readonly counts: Readonly<Record<string, number>>;
  readonly filters: { status: string; environment?: string; q?: string };
  readonly page: { number: number; pages: number; total: number };
  readonly plan: {
    name: string;
    used: number;
    max: number;
    limits: readonly number[];
    devLimits: readonly number[];
    apiAccess: boolean;
    /** `team`: the limits are one window shared by all of the team's keys (plans.NAME.limit_per). */
    limitPer: 'key' | 'team';
  };
}

const date = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—');

export function keysPage(v: KeysPageView): SafeHtml {
  const { filters } = v;
  const option = (value: string, label: string, selected: string | undefined) =>
    html`<option value="${value}"${selected === value ? html` selected` : ''}>${label}</option>`;
  const query = (n: number) =>
    `?${new URLSearchParams({ ...(filters.status ? { status: filters.status } : {}), ...(filters.environment ? { environment: filters.environment } : {}), ...(filters.q ? { q: filters.q } : {}), page: String(n) })}`;
  const tab = ([value, label]: (typeof TABS)[number]) =>
    html`<a href="/dashboard/keys${value ? `?status=${value}` : ''}"${filters.status === value ? html` aria-current="page"` : ''}>${label} (${v.counts[value] ?? 0})</a>`;
  return html`<section class="plan" aria-labelledby="plan-title">
<h2 id="plan-title">Plan: ${v.plan.name}</h2>
<p>${v.plan.apiAccess ? html`<strong id="keys-used">${v.plan.used} of ${v.plan.max}</strong> keys in use. <span id="plan-limits">${v.plan.limitPer === 'team' ? 'All of your keys together may make' : 'Each key may make'} ${v.plan.limits[0]} calls a minute, ${v.plan.limits[1]} an hour and ${v.plan.limits[2]} a day. ${v.plan.limitPer === 'team' ? 'Development keys together may make' : 'Development keys may make'} ${v.plan.devLimits[0]} calls a minute, ${v.plan.devLimits[1]} an hour and ${v.plan.devLimits[2]} a day.</span>` : html`<strong>Your plan does not include API access.</strong> Upgrade it to create API keys.`}</p>
</section>
${v.viewer.admin && v.plan.apiAccess ? html`<p><a class="button" href="/dashboard/keys/new" id="new-key">Generate new key</a></p>` : ''}
<nav class="tabs" aria-label="Key lists">${TABS.map(tab)}</nav>
<form method="get" action="/dashboard/keys" class="filters" role="search" aria-label="Filter keys">
<div><label for="status">Status</label><select id="status" name="status">${option('', 'Any, in use', filters.status)}${IN_USE.map((s) => option(s, s, filters.status))}${option('revoked', 'revoked', filters.status)}${option('expired', 'expired', filters.status)}${option('all', 'Any, with revoked and expired', filters.status)}</select></div>
<div><label for="environment">Environment</label><select id="environment" name="environment">${option('', 'Any', filters.environment)}${option('prod', 'prod', filters.environment)}${option('dev', 'dev', filters.environment)}</select></div>
<div><label for="q">Name or key prefix</label><input id="q" name="q" type="search" value="${filters.q ?? ''}"></div>
<div><button type="submit">Filter</button></div>
</form>
${
  v.keys.length
    ? html`<div class="table-wrap"><table id="keys" class="cards">
<caption>${v.page.total} key${v.page.total === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col" class="wide-only">Kind</th><th scope="col">Env</th><th scope="col" class="wide-only">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Calls</th><th scope="col">Status</th></tr></thead>
<tbody>${v.keys.map(keyRow)}</tbody></table></div>`
    : html`<p id="no-keys">No keys match.</p>`
}
<nav class="pages" aria-label="Pages">${v.page.number > 1 ? html`<a href="${query(v.page.number - 1)}" rel="prev">Previous</a>` : ''} <span>Page ${v.page.number} of ${v.page.pages}</span> ${v.page.number < v.page.pages ? html`<a href="${query(v.page.number + 1)}" rel="next">Next</a>` : ''}</nav>`;
}

/** One key: a table row at desktop width, a card on a phone (the stylesheet; the same HTML). */
function keyRow(k: Listed): SafeHtml {
  return html`<tr data-client-id="${k.client_id}"><td class="name"><a href="/dashboard/keys/${k.client_id}">${k.name ?? k.client_id}</a></td><td data-label="Key" class="hint"><code>${k.hint}</code></td><td data-label="Kind" class="wide-only">${kindLabel(k.kind)}</td><td data-label="Env">${k.environment}</td><td data-label="Created" class="wide-only">${date(k.created_at)}</td><td data-label="Expires" class="expires">${date(k.expires_at)}${expiringIn(k)}</td><td data-label="Last used" class="last-used">${date(k.last_used_at)}</td><td data-label="Calls" class="calls">${k.usage_count}</td><td data-label="Status" class="status"><span class="badge ${k.status.replace(/ /g, '-')}">${k.status}</span>${k.leaked_at ? html` <span class="badge leaked">leaked</span>` : ''}</td></tr>`;
}

const DAY_MS = 86_400_000;

/** Within 30 days of its expiry, a key in use says so in words (the reminders mail at 30, 7 and 1 days). */
function expiringIn(k: Listed, now = Date.now()): SafeHtml | '' {
  if (!k.is_valid || !k.expires_at) return '';
  const left = Date.parse(k.expires_at) - now;
  if (left <= 0 || left > 30 * DAY_MS) return '';
  const days = Math.ceil(left / DAY_MS);
  return html`<span class="badge expiring">expires in ${days} ${days === 1 ? 'day' : 'days'}</span>`;
}
