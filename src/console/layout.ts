import { documentOf, html, type SafeHtml } from '../web/html.js';
import type { StaffAccount } from '../staff/staff.js';

/** Every console page: keyport's stylesheet, the console's nav, keyport's own script (a chosen key file fills its textarea; pasting works without it). */
export function consoleLayout(title: string, body: SafeHtml, who?: { staff: StaffAccount; csrf: string }): string {
  const header = html`<header class="top">
<span class="brand">keyport support console</span>
${
  who
    ? html`<nav aria-label="Console"><a href="/console/teams">Teams</a> <a href="/console/health">Health</a></nav>
<form method="post" action="/console/signout" class="signout"><input type="hidden" name="csrf" value="${who.csrf}"><button type="submit" class="secondary">Sign out ${who.staff.email} (${who.staff.role})</button></form>`
    : ''
}
</header>`;
  return documentOf(title, body, { bodyClass: 'dashboard', header, mainClass: 'wide', script: '/static/dashboard.js' });
}

export const message = (text: string, back = false): SafeHtml =>
  html`<p role="alert">${text}</p>${back ? html`<p><a href="/console/teams">Back to the teams</a></p>` : ''}`;

export const reasonField = (id: string): SafeHtml =>
  html`<label for="${id}">Reason (required, kept in the audit log)</label><input id="${id}" name="reason" required maxlength="500">`;
