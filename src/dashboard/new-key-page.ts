import { InvalidRequest, assertNever } from '../errors.js';
import { html, type SafeHtml } from '../web/html.js';

/** The kinds a team's admin creates in the dashboard. */
export type FormKind = 'service_account' | 'service_account_jwt' | 'app';
const KINDS: ReadonlyArray<{ kind: FormKind; title: string; about: string }> = [
  {
    kind: 'service_account',
    title: 'API key (a service account with a secret)',
    about: 'Your servers send the secret as Authorization: Bearer …, or trade it at /token.',
  },
  {
    kind: 'service_account_jwt',
    title: 'Service account with a public key',
    about: 'Your servers sign a JWT with their private key (private_key_jwt); keyport keeps only the public key.',
  },
  {
    kind: 'app',
    title: 'Third-party app',
    about: 'An app that people sign in to and allow (authorization code with PKCE).',
  },
];

/** `?kind=` or the form's `kind`: one of the three, or the caller's mistake in words. */
export function formKindOf(value: string): FormKind {
  const found = KINDS.find((k) => k.kind === value);
  if (!found) throw new InvalidRequest('kind', 'choose an API key, a public-key service account or an app');
  return found.kind;
}

/** The first step: which kind of key (plain links, no script). */
export function chooseKindPage(): SafeHtml {
  return html`<p>What will use the key?</p>
<ul class="kinds">${KINDS.map((k) => html`<li><a href="/dashboard/keys/new?kind=${k.kind}" id="kind-${k.kind}"><strong>${k.title}</strong><span>${k.about}</span></a></li>`)}</ul>
<p><a href="/dashboard/keys">Cancel</a></p>`;
}

const TITLES: Readonly<Record<FormKind, string>> = {
  service_account: 'New API key',
  service_account_jwt: 'New public-key service account',
  app: 'New third-party app',
};
export const titleOfKind = (kind: FormKind): string => TITLES[kind];

export interface NewKeyForm {
  readonly kind: FormKind;
  readonly csrf: string;
  readonly nonce: string;
  readonly scopes: Readonly<Record<string, string>>;
  readonly defaults: readonly string[];
  readonly name?: string;
  readonly error?: string;
}

/** The second step: the form for one kind, with that kind's fields only. */
export function newKeyPage(v: NewKeyForm): SafeHtml {
  const scopeBoxes = Object.entries(v.scopes).map(
    ([name, description], i) =>
      html`<div class="check"><input type="checkbox" id="scope-${i}" name="scopes" value="${name}"${v.defaults.includes(name) ? html` checked` : ''}><label for="scope-${i}"><code>${name}</code>: ${description}</label></div>`,
  );
  return html`${v.error ? html`<p class="error" role="alert" id="form-error">${v.error}</p>` : ''}
<p><a href="/dashboard/keys/new" id="other-kind">Choose another kind</a></p>
<form method="post" action="/dashboard/keys" class="narrow" enctype="application/x-www-form-urlencoded">
<input type="hidden" name="csrf" value="${v.csrf}"><input type="hidden" name="nonce" value="${v.nonce}"><input type="hidden" name="kind" value="${v.kind}">
<label for="name">Name</label><input id="name" name="name" required maxlength="200" value="${v.name ?? ''}">
${fieldsOf(v.kind)}
<fieldset><legend>Scopes</legend>${scopeBoxes}</fieldset>
${v.kind === 'service_account_jwt' ? '' : html`<div class="check"><input type="checkbox" id="share" name="share" value="1"><label for="share">Create a one-time link for the secret instead of showing it</label></div>`}
<button type="submit" id="create">Create key</button>
</form>`;
}

const lifetime = html`<label for="environment">Environment</label><select id="environment" name="environment"><option value="prod">prod</option><option value="dev">dev</option></select>
<label for="expiry">Expires</label><select id="expiry" name="expiry"><option value="">never</option><option value="30">in 30 days</option><option value="90">in 90 days</option><option value="365">in 365 days</option><option value="date">on a date</option></select>
<label for="expires-on">Expiry date (when “on a date”)</label><input id="expires-on" name="expires_on" type="date">
<label for="credits">Usage credits (empty: unlimited)</label><input id="credits" name="credits" type="number" min="0" inputmode="numeric">`;

function fieldsOf(kind: FormKind): SafeHtml {
  switch (kind) {
    case 'service_account':
      return lifetime;
    case 'service_account_jwt':
      return html`${lifetime}
<label for="public-key">Public key (PEM or JWK)</label><textarea id="public-key" name="public_key" rows="5" required></textarea>
<label for="public-key-file">…or choose the public key file</label><input id="public-key-file" type="file" accept=".pem,.json,.jwk,.pub,text/plain" data-fills="public-key">`;
    case 'app':
      return html`<label for="redirect-uris">Redirect URIs, one per line (empty: the copy-the-code page)</label><textarea id="redirect-uris" name="redirect_uris" rows="3"></textarea>`;
    default:
      return assertNever(kind);
  }
}
