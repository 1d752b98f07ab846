import type { ClientView } from '../clients/client.js';
import { InvalidRequest } from '../errors.js';
import { html, type SafeHtml } from '../web/html.js';

/*
 * The key page's "where from, and whose" block (issue 28 items 1 and 3): the
 * address allowlist and the metadata, shown and edited in the key's edit form.
 * A block of its own, so other fields of the form (roles, permissions) stay apart.
 */

/** The fields inside the edit form. */
export function restrictionFields(k: ClientView): SafeHtml {
  return html`<fieldset id="restrictions"><legend>Where it may be used from, and its metadata</legend>
<label for="edit-allowed-ips">Allowed addresses</label>
<p class="hint" id="edit-allowed-ips-hint">IPv4/IPv6 addresses or CIDR ranges, one per line, at most 50. Empty: anywhere.</p>
<textarea id="edit-allowed-ips" name="allowed_ips" rows="4" aria-describedby="edit-allowed-ips-hint">${k.allowed_ips.join('\n')}</textarea>
<label for="edit-meta">Metadata (JSON object)</label>
<p class="hint" id="edit-meta-hint">Returned with the key by /keys/verify and the guard; at most 1 KB, 3 levels. Empty: none.</p>
<textarea id="edit-meta" name="meta" rows="4" aria-describedby="edit-meta-hint">${k.meta === null ? '' : JSON.stringify(k.meta, null, 2)}</textarea>
</fieldset>`;
}

/** The shown values on the key's details list. */
export function restrictionDetails(k: ClientView): SafeHtml {
  return html`<dt>Allowed addresses</dt><dd id="allowed-ips">${k.allowed_ips.length ? k.allowed_ips.join(', ') : 'anywhere'}</dd>
<dt>Metadata</dt><dd id="meta">${k.meta === null ? '—' : html`<code>${JSON.stringify(k.meta)}</code>`}</dd>`;
}

/** The form's fields, read into the client service's changes (which checks every rule). */
export function restrictionChanges(field: (name: string) => string): {
  allowedIps: string[];
  meta: Record<string, unknown> | null;
} {
  const allowedIps = field('allowed_ips')
    .split(/[\s,]+/)
    .filter(Boolean);
  const text = field('meta').trim();
  if (!text) return { allowedIps, meta: null };
  try {
    return { allowedIps, meta: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new InvalidRequest('meta', 'is not valid JSON');
  }
}
