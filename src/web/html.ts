/** HTML-escapes a value for text and double-quoted attribute contexts. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A value already escaped (or markup built from escaped values). */
export class SafeHtml {
  constructor(readonly html: string) {}
}

/** Tagged template that escapes every interpolated value unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const part = Array.isArray(value)
      ? value.map((v) => (v instanceof SafeHtml ? v.html : escapeHtml(v))).join('')
      : value instanceof SafeHtml
        ? value.html
        : escapeHtml(value);
    out += part + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** Headers for every keyport page: no caching, no referrer, no framing, no inline script. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * Headers for a sign-in or consent page whose form may end in a redirect to
 * the app: browsers apply form-action to every redirect after a form is sent,
 * so the app's redirect origins are allowed too (http(s) only; the oob URN
 * redirects to keyport itself).
 */
export function pageHeadersFor(redirectUris: readonly string[]): Readonly<Record<string, string>> {
  const origins = new Set<string>();
  for (const uri of redirectUris) {
    try {
      const url = new URL(uri);
      if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(url.origin);
    } catch {
      // Not a URL (the oob URN): nothing to allow.
    }
  }
  if (!origins.size) return PAGE_HEADERS;
  const csp = PAGE_HEADERS['Content-Security-Policy']!.replace(
    "form-action 'self'",
    `form-action 'self' ${[...origins].join(' ')}`,
  );
  return { ...PAGE_HEADERS, 'Content-Security-Policy': csp };
}

/** A whole keyport page: its own stylesheet, an optional body class and header, and a main with its title. */
export function documentOf(
  title: string,
  content: SafeHtml,
  {
    bodyClass,
    header,
    mainClass,
    script,
  }: { bodyClass?: string; header?: SafeHtml; mainClass?: string; script?: string } = {},
): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · keyport</title>
<link rel="stylesheet" href="/static/keyport.css">
</head>
<body${bodyClass ? html` class="${bodyClass}"` : ''}>
${header ?? ''}
<main${mainClass ? html` class="${mainClass}" id="main"` : ''}>
<h1>${title}</h1>
${content}
</main>
${script ? html`<script src="${script}"></script>` : ''}
</body>
</html>
`.html;
}

export function page(title: string, body: SafeHtml): string {
  return documentOf(title, body);
}
