import QRCode from 'qrcode';
import { html, SafeHtml } from '../web/html.js';

export function signInPage(v: { csrf: string; email?: string; error?: string }): SafeHtml {
  return html`<p>For keyport staff. Customers sign in at <a href="/dashboard/signin">the dashboard</a>.</p>
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<form method="post" action="/console/signin" class="narrow">
<input type="hidden" name="csrf" value="${v.csrf}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${v.email ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Next</button>
</form>`;
}

const codeForm = (
  csrf: string,
  label: string,
) => html`<form method="post" action="/console/second-factor" class="narrow">
<input type="hidden" name="csrf" value="${csrf}">
<label for="code">${label}</label>
<input id="code" name="code" autocomplete="one-time-code" required autofocus maxlength="20">
<button type="submit">Sign in</button>
</form>`;

export function secondFactorPage(v: { csrf: string; error?: string }): SafeHtml {
  return html`${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<p>Type the 6-digit code from your authenticator app, or one of your recovery codes.</p>
${codeForm(v.csrf, 'Code')}`;
}

/** The QR code is drawn here, as an SVG data URI in an img: no script on the page. */
export async function enrolPage(v: { csrf: string; secret: string; uri: string; error?: string }): Promise<SafeHtml> {
  const svg = await QRCode.toString(v.uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  return html`${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<p>Scan this code with an authenticator app, then type the 6-digit code it shows.</p>
<p><img src="${src}" alt="QR code for your authenticator app" width="200" height="200" id="totp-qr"></p>
<p>Or type this key into the app: <code id="totp-secret">${v.secret}</code></p>
${codeForm(v.csrf, 'Code from the app')}`;
}

export function recoveryCodesPage(codes: readonly string[]): SafeHtml {
  return html`<p><strong>Store these recovery codes now: they are shown this once.</strong> Each signs you in once if you lose your authenticator.</p>
<ul id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<p><a class="button" href="/console/teams" id="continue">I have stored them: continue</a></p>`;
}
