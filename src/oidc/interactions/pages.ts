import { html, page } from '../../web/html.js';

export interface LoginView {
  readonly action: string;
  readonly csrf: string;
  readonly appName: string;
  readonly email?: string;
  readonly error?: string;
}

export function loginPage(v: LoginView): string {
  return page(
    'Sign in',
    html`<p>Sign in to let <strong>${v.appName}</strong> use the API for you.</p>
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<form method="post" action="${v.action}" autocomplete="on">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus value="${v.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export interface ConsentView {
  readonly confirm: string;
  readonly abort: string;
  readonly csrf: string;
  readonly appName: string;
  readonly scopes: ReadonlyArray<{ readonly name: string; readonly description: string }>;
}

export function consentPage(v: ConsentView): string {
  return page(
    'Allow access?',
    html`<p><strong>${v.appName}</strong> asks to act for you with these permissions:</p>
<ul class="scopes">${v.scopes.map((s) => html`<li><code>${s.name}</code>: ${s.description}</li>`)}</ul>
<div class="row">
<form method="post" action="${v.confirm}"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit" id="approve">Allow</button></form>
<form method="post" action="${v.abort}"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit" class="secondary" id="deny">Deny</button></form>
</div>`,
  );
}

/** The out-of-band answer: the code (or the error) for the person to copy into the app. */
/**
 * The out-of-band page. The request's `state` is never shown: it is any
 * caller's text, and on keyport's origin it would read as keyport's words.
 */
export function oobPage(v: { code?: string; error?: string; errorDescription?: string }): string {
  if (v.code) {
    return page(
      'Copy this code into the app',
      html`<p>Paste this code into the application that sent you here. It works once, within a minute.</p>
<code class="value" id="code">${v.code}</code>
<button type="button" id="copy">Copy</button>
<script src="/static/copy.js"></script>`,
    );
  }
  return page(
    'Access was not granted',
    html`<p class="error" id="error">${v.error ?? 'error'}</p>
${v.errorDescription ? html`<p>${v.errorDescription}</p>` : ''}
<p>You can close this page.</p>`,
  );
}

export function errorPage(error: string, description?: string): string {
  return page(
    'Something went wrong',
    html`<p class="error" id="error">${error}</p>${description ? html`<p>${description}</p>` : ''}`,
  );
}
