import { createHash, randomBytes } from 'node:crypto';

export const OOB = 'urn:ietf:wg:oauth:2.0:oob';

/** A cookie jar and redirect follower, as a browser would be, over fetch. */
export class Browser {
  private readonly cookies = new Map<string, string>();
  /** `headers` go with every request: an `x-forwarded-for` makes it come from another address behind a trusted proxy. */
  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> | Array<[string, string]> } = {}) {
    const res = await fetch(new URL(url, this.base), {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...this.headers,
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form) : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return { status: res.status, headers: res.headers, text: await res.text(), url: res.url };
  }

  /** Requests `url` and follows redirects on this server, returning the last answer. */
  async follow(url: string, init: { method?: string; form?: Record<string, string> | Array<[string, string]> } = {}) {
    let res = await this.request(url, init);
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const location = res.headers.get('location')!;
      if (!location.startsWith('/') && !location.startsWith(this.base)) return res;
      res = await this.request(location);
    }
    return res;
  }
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
export const actionOf = (html: string, id?: string) =>
  (id
    ? new RegExp(`action="([^"]+)"><input type="hidden" name="csrf" value="[^"]+"><button type="submit"[^>]*id="${id}"`)
    : /action="([^"]+)"/
  ).exec(html)?.[1] ?? '';
export const codeOf = (html: string) => /<code class="value" id="code">([^<]+)<\/code>/.exec(html)?.[1];

/** Signs in and approves through the pages; returns the oob page's HTML. */
export async function authorizeThroughPages(browser: Browser, authorizeUrl: string, email: string, password: string) {
  const login = await browser.follow(authorizeUrl);
  const afterLogin = await browser.follow(actionOf(login.text), {
    form: { csrf: csrfOf(login.text), email, password },
  });
  const done = await browser.follow(actionOf(afterLogin.text, 'approve'), { form: { csrf: csrfOf(afterLogin.text) } });
  return { login, consent: afterLogin, done };
}
