import type { Role } from '../clients/roles.js';
import { CLIENT_LIMITS } from '../clients/limits.js';
import { html, type SafeHtml } from '../web/html.js';

/*
 * The team's roles page (issue 28 item 2; docs/contract.md, Permissions and
 * roles): the product's roles (read_only among them), which every team has and
 * none may change, then the team's own, which admins make, edit and delete.
 * A change reaches every key holding the role at once, guards too.
 */

export interface RolesPageView {
  readonly csrf: string;
  readonly admin: boolean;
  readonly roles: readonly Role[];
  /** The form that failed, with what was typed, and why. */
  readonly failed?: { role?: string; name: string; permissions: string; error: string };
}

const permissionText = (r: Role) => r.permissions.join('\n');

export function rolesPage(v: RolesPageView): SafeHtml {
  const failedFor = (id: string | undefined) => (v.failed && v.failed.role === id ? v.failed : undefined);
  const own = v.roles.filter((r) => !r.builtIn);
  const row = (r: Role) =>
    html`<tr id="role-${r.id}"><td class="name">${r.name}</td><td data-label="Id"><code>${r.id}</code></td><td data-label="Permissions">${r.permissions.length ? html`<code>${r.permissions.join(' ')}</code>` : '—'}</td><td data-label="Kind">${r.builtIn ? "the product's" : "the team's"}</td></tr>`;
  const editForm = (r: Role) => {
    const failed = failedFor(r.id);
    return html`<section aria-labelledby="edit-role-${r.id}-title" class="role-edit"><h3 id="edit-role-${r.id}-title">${r.name}</h3>
${failed ? html`<p class="error" role="alert" id="role-${r.id}-error">${failed.error}</p>` : ''}
<form method="post" action="/dashboard/roles/${r.id}" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="role-${r.id}-name">Name</label><input id="role-${r.id}-name" name="name" required maxlength="${CLIENT_LIMITS.roleNameLength}" value="${failed?.name ?? r.name}">
<label for="role-${r.id}-permissions">Permissions</label>
<textarea id="role-${r.id}-permissions" name="permissions" rows="3" aria-describedby="role-permissions-hint">${failed?.permissions ?? permissionText(r)}</textarea>
<button type="submit" id="save-role-${r.id}">Save ${r.name}</button>
</form>
<form method="post" action="/dashboard/roles/${r.id}/delete" class="row">
<input type="hidden" name="csrf" value="${v.csrf}">
<button type="submit" class="danger" id="delete-role-${r.id}">Delete ${r.name}</button>
</form></section>`;
  };
  const failedNew = failedFor(undefined);
  return html`<p>A role is a named set of permissions (<code>resource:action</code>). Give roles to keys on each key's page; what a key may do is read at each call, so a change here reaches every key holding the role at once.</p>
<div class="table-wrap"><table id="roles" class="cards"><caption>${v.roles.length} role${v.roles.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Role</th><th scope="col">Id</th><th scope="col">Permissions</th><th scope="col">Kind</th></tr></thead>
<tbody>${v.roles.map(row)}</tbody></table></div>
${
  v.admin
    ? html`<p class="hint" id="role-permissions-hint">Permissions: one per line, <code>resource:action</code>; <code>projects:*</code> is every action on projects.</p>
${own.length ? html`<section aria-labelledby="own-roles-title"><h2 id="own-roles-title">Your team's roles</h2>${own.map(editForm)}</section>` : ''}
<section aria-labelledby="new-role-title"><h2 id="new-role-title">New role</h2>
${failedNew ? html`<p class="error" role="alert" id="new-role-error">${failedNew.error}</p>` : ''}
<form method="post" action="/dashboard/roles" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="new-role-name">Name</label><input id="new-role-name" name="name" required maxlength="${CLIENT_LIMITS.roleNameLength}" value="${failedNew?.name ?? ''}">
<label for="new-role-permissions">Permissions</label>
<textarea id="new-role-permissions" name="permissions" rows="3" aria-describedby="role-permissions-hint">${failedNew?.permissions ?? ''}</textarea>
<button type="submit" id="create-role">Create role</button>
</form></section>`
    : ''
}`;
}
