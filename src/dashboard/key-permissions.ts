import type { ClientView } from '../clients/client.js';
import type { Role } from '../clients/roles.js';
import { html, type SafeHtml } from '../web/html.js';

/*
 * The key page's "what it may do" block (issue 28 item 2): the roles a key
 * holds (the product's and its team's own, as checkboxes) and its own
 * permissions (`resource:action`, one per line). Every rule is the client
 * service's: an unknown role or a permission outside the catalogue is a 400
 * naming it, and nothing is stored.
 */

const nameOf = (roles: readonly Role[], id: string) => roles.find((r) => r.id === id)?.name ?? id;

/** The fields inside the edit form. */
export function permissionFields(k: ClientView, roles: readonly Role[]): SafeHtml {
  const boxes = roles.map(
    (r, i) =>
      html`<div class="check"><input type="checkbox" id="edit-role-${i}" name="roles" value="${r.id}"${k.roles.includes(r.id) ? html` checked` : ''}><label for="edit-role-${i}">${r.name} <span class="hint">(${r.permissions.join(', ') || 'no permissions'})</span></label></div>`,
  );
  // `roles_field` says the form had these fields: no box checked then means no roles, not "unchanged".
  return html`<input type="hidden" name="roles_field" value="1"><fieldset id="key-roles"><legend>Roles</legend>${boxes.length ? boxes : html`<p class="hint">No roles yet.</p>`}<p class="hint"><a href="/dashboard/roles">The team's roles</a></p></fieldset>
<label for="edit-permissions">Permissions of its own</label>
<p class="hint" id="edit-permissions-hint"><code>resource:action</code>, one per line (<code>projects:*</code> for every action), besides its roles'. Empty: none.</p>
<textarea id="edit-permissions" name="permissions" rows="3" aria-describedby="edit-permissions-hint">${k.permissions.join('\n')}</textarea>`;
}

/** The shown values on the key's details list. */
export function permissionDetails(k: ClientView, roles: readonly Role[]): SafeHtml {
  return html`<dt>Roles</dt><dd id="roles">${k.roles.length ? k.roles.map((id) => nameOf(roles, id)).join(', ') : '—'}</dd>
<dt>Permissions</dt><dd id="permissions">${k.permissions.length ? html`<code>${k.permissions.join(' ')}</code>` : '—'}</dd>`;
}

/** A list field of the form (a textarea, one per line or separated by spaces or commas). */
export function listOf(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * The form's fields, read into the client service's changes (which checks every rule);
 * a form without them (sent by an older page) changes neither.
 */
export function permissionChanges(
  field: (name: string) => string,
  fields: (name: string) => string[],
): { roles?: string[]; permissions?: string[] } {
  if (field('roles_field') !== '1') return {};
  return { roles: fields('roles'), permissions: listOf(field('permissions')) };
}
