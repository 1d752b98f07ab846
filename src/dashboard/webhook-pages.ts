import {
  WEBHOOK_EVENT_TYPES,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEventType,
} from '../events/webhooks.js';
import { html, type SafeHtml } from '../web/html.js';

/** What an event type means, in words, beside its box on the form (docs/contract.md, Webhooks). */
const ABOUT: Readonly<Partial<Record<WebhookEventType, string>>> = {
  'key.created': 'a key was created',
  'key.rotated': "a key's secret was rotated",
  'key.revoked': 'a key was revoked',
  'key.rate_limited': 'a key went over its rate limit (once per window)',
  'credits.low': "a key's usage credits ran low",
  'key.expiring': 'a key expires in 30, 7 or 1 days',
  'share_link.opened': "a key's one-time link was opened",
};

const date = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

/** An endpoint's state in one word: in use, failing (retrying) or disabled after a day of failures. */
export const endpointStatus = (e: WebhookEndpoint): 'active' | 'failing' | 'disabled' =>
  e.disabledAt !== null ? 'disabled' : e.failingSince !== null ? 'failing' : 'active';

export interface WebhooksPageView {
  readonly csrf: string;
  readonly nonce: string;
  readonly endpoints: readonly WebhookEndpoint[];
  readonly url?: string;
  readonly events?: readonly string[];
  readonly error?: string;
}

/** The team's endpoints and the form that registers one. */
export function webhooksPage(v: WebhooksPageView): SafeHtml {
  const chosen = v.events ?? [];
  const boxes = WEBHOOK_EVENT_TYPES.map(
    (type, i) =>
      html`<div class="check"><input type="checkbox" id="event-${i}" name="events" value="${type}"${chosen.includes(type) ? html` checked` : ''}><label for="event-${i}"><code>${type}</code>${ABOUT[type] ? `: ${ABOUT[type]}` : ''}</label></div>`,
  );
  return html`<p>keyport sends a signed POST (Standard Webhooks: <code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>) to each endpoint for the events it asks for, and retries for a day.</p>
${
  v.endpoints.length
    ? html`<div class="table-wrap"><table id="endpoints" class="cards"><caption>${v.endpoints.length} endpoint${v.endpoints.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col" class="wide-only">Registered</th></tr></thead>
<tbody>${v.endpoints.map(endpointRow)}</tbody></table></div>`
    : html`<p id="no-endpoints">No webhook endpoints yet.</p>`
}
<section aria-labelledby="register-title"><h2 id="register-title">Register an endpoint</h2>
${v.error ? html`<p class="error" role="alert" id="form-error">${v.error}</p>` : ''}
<form method="post" action="/dashboard/webhooks" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}"><input type="hidden" name="nonce" value="${v.nonce}">
<label for="url">URL (https://)</label><input id="url" name="url" type="url" required maxlength="2048" value="${v.url ?? ''}">
<fieldset><legend>Events</legend>${boxes}</fieldset>
<button type="submit" id="register">Register endpoint</button>
</form></section>`;
}

function endpointRow(e: WebhookEndpoint): SafeHtml {
  const status = endpointStatus(e);
  return html`<tr data-endpoint-id="${e.id}"><td class="name"><a href="/dashboard/webhooks/${e.id}" class="url">${e.url}</a></td><td data-label="Events">${e.events.join(' ')}</td><td data-label="Status"><span class="badge ${status}">${status}</span></td><td data-label="Registered" class="wide-only">${date(e.createdAt)}</td></tr>`;
}

/** The endpoint's secret, once, as a key's is shown: copy it now. */
export function webhookSecretPanel(v: { endpoint: WebhookEndpoint; secret: string }): SafeHtml {
  return html`<section class="secret-panel" id="secret-panel" aria-labelledby="secret-title" data-confirm-leave="You won't see this signing secret again. Leave the page?">
<h2 id="secret-title">Endpoint registered: ${v.endpoint.url}</h2>
<p><strong>Copy the signing secret now: you won't see it again.</strong> Your receiver checks each delivery's <code>webhook-signature</code> with it.</p>
<code class="value" id="new-secret">${v.secret}</code><button type="button" class="copy" data-copy="new-secret" id="copy">Copy</button>
<p><a href="/dashboard/webhooks/${v.endpoint.id}" id="done">I have stored it: go to the endpoint</a></p>
</section>`;
}

export interface EndpointPageView {
  readonly csrf: string;
  readonly endpoint: WebhookEndpoint;
  readonly deliveries: readonly WebhookDelivery[];
}

/** One endpoint: its delivery log (status, latency, attempts, next attempt), "send again", and removal. */
export function endpointPage(v: EndpointPageView): SafeHtml {
  const e = v.endpoint;
  const status = endpointStatus(e);
  return html`<dl class="details">
<dt>URL</dt><dd><code>${e.url}</code></dd>
<dt>Events</dt><dd>${e.events.join(' ')}</dd>
<dt>Status</dt><dd><span class="badge ${status}" id="endpoint-status">${status}</span>${e.failingSince !== null ? html` since ${date(e.failingSince)}` : ''}</dd>
<dt>Registered</dt><dd>${date(e.createdAt)}</dd>
</dl>
<section aria-labelledby="log-title"><h2 id="log-title">Deliveries (the last 100, newest first)</h2>
${
  v.deliveries.length
    ? html`<div class="table-wrap"><table id="deliveries" class="cards"><thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Answer</th><th scope="col">Latency</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col" class="wide-only">Created</th><th scope="col">Send again</th></tr></thead>
<tbody>${v.deliveries.map((d) => deliveryRow(v.csrf, e.id, d))}</tbody></table></div>`
    : html`<p id="no-deliveries">No deliveries yet.</p>`
}</section>
<section aria-labelledby="remove-title"><h2 id="remove-title">Remove</h2>
<p>Removing the endpoint stops its deliveries and deletes its log.</p>
<form method="post" action="/dashboard/webhooks/${e.id}/remove" class="row">
<input type="hidden" name="csrf" value="${v.csrf}">
<button type="submit" class="danger" id="remove">Remove this endpoint</button>
</form></section>
<p><a href="/dashboard/webhooks">Back to the webhooks</a></p>`;
}

function deliveryRow(csrf: string, endpointId: string, d: WebhookDelivery): SafeHtml {
  const answer = d.lastStatusCode !== null ? String(d.lastStatusCode) : (d.lastError ?? '—');
  return html`<tr data-delivery-id="${d.id}"><td class="name"><code>${d.eventType}</code> <code class="delivery-id">${d.id}</code></td><td data-label="Status" class="status"><span class="badge ${d.status}">${d.status}</span></td><td data-label="Answer" class="answer">${answer}</td><td data-label="Latency" class="latency">${d.lastLatencyMs === null ? '—' : `${d.lastLatencyMs} ms`}</td><td data-label="Attempts" class="attempts">${d.attempts}</td><td data-label="Next attempt" class="next-attempt">${date(d.nextAttemptAt)}</td><td data-label="Created" class="wide-only">${date(d.createdAt)}</td><td data-label="Send again"><form method="post" action="/dashboard/webhooks/${endpointId}/deliveries/${d.id}/retry"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary send-again" aria-label="Send again: ${d.eventType} ${d.id}">Send again</button></form></td></tr>`;
}
