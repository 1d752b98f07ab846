import type { ClientView } from '../clients/client.js';
import { InvalidRequest } from '../errors.js';
import { html, type SafeHtml } from '../web/html.js';

/** How long the old secret keeps working, in seconds; 7 days is preselected, as deployments need time to switch. */
const GRACE_CHOICES: ReadonlyArray<readonly [number, string]> = [
  [0, 'no time: it stops at once'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [604_800, '7 days'],
];
const PRESELECTED = 604_800;

/** The form's `grace`: one of the choices, or the caller's mistake (nothing rotates). */
export function graceOf(value: string): number {
  const found = GRACE_CHOICES.find(([seconds]) => String(seconds) === value);
  if (!found) throw new InvalidRequest('grace', 'choose no time, 1 hour, 24 hours or 7 days');
  return found[0];
}

/** The confirmation before a new secret: which key, and how long the old secret lasts. */
export function rotatePage(v: { key: ClientView; csrf: string; nonce: string }): SafeHtml {
  const name = v.key.name ?? v.key.client_id;
  return html`<p>Make a new secret for <strong id="rotate-name">${name}</strong> (<code>${v.key.client_id}</code>)? It is shown once. Until the grace period ends, the old secret works too, so your deployments can switch.</p>
<form method="post" action="/dashboard/keys/${v.key.client_id}/rotate" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}"><input type="hidden" name="nonce" value="${v.nonce}">
<label for="grace">Keep the old secret working for</label>
<select id="grace" name="grace">${GRACE_CHOICES.map(([seconds, label]) => html`<option value="${seconds}"${seconds === PRESELECTED ? html` selected` : ''}>${label}</option>`)}</select>
<div class="row"><button type="submit" id="confirm-rotate">Rotate the secret of ${name}</button><a class="button secondary cancel" href="/dashboard/keys/${v.key.client_id}">Cancel</a></div>
</form>`;
}
