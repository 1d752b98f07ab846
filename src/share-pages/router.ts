import Router from '@koa/router';
import { noteRateLimit } from '../observability/rate-limit-reasons.js';
import type Koa from 'koa';
import { perAddressPerMinute } from '../limits/per-address.js';
import type { AuditStore } from '../audit/audit.js';
import { html, page } from '../web/html.js';
import type { ExpiredShare, ShareLinks } from '../shares/share-links.js';
import { secondsOf, type Clock } from '../clock.js';
import type { ClientKind } from '../clients/client.js';

/** Reveal attempts one address may make per minute (per process): ids are unguessable, so this only stops a bulk hunt. */
export const REVEALS_PER_MINUTE = 30;

/**
 * A share page may only talk to keyport (the reveal), run keyport's script,
 * and never be framed, cached or named in a Referer.
 */
const SHARE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
};

const GONE = 'This link was already used or has expired.';

/** What a shared secret is for, as its page names it (no secret, nothing a client id does not already say). */
export interface SharedClient {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly name: string | null;
}

const KIND_WORDS: Readonly<Record<ClientKind, string>> = {
  service_account: 'API key (service account)',
  service_account_jwt: 'service account',
  app: 'OAuth app',
  resource_server: 'resource server',
};

function whatFor(client: SharedClient | undefined) {
  if (!client) return html`<p>Someone sent you a secret through keyport.</p>`;
  const what = client.kind === 'service_account' ? 'the secret of the API key' : 'the client secret of';
  return html`<p>Someone sent you ${what} <strong>${client.name ?? client.clientId}</strong> through keyport.</p>
<dl id="shared-client"><dt>Kind</dt><dd>${KIND_WORDS[client.kind]}</dd><dt>Client id</dt><dd><code>${client.clientId}</code></dd></dl>`;
}

function sharePage(client: SharedClient | undefined): string {
  return page(
    'A secret was shared with you',
    html`${whatFor(client)}<p>It can be shown <strong>once</strong>: after you reveal it, this link stops working.</p>
<p>Keep this page open until you have stored the secret somewhere safe, such as a password manager or your deployment's secret store.</p>
<button type="button" id="reveal">Reveal the secret</button>
<p class="error" id="message" role="alert" hidden></p>
<div id="revealed" hidden>
<label for="secret">Your secret</label>
<code class="value" id="secret"></code>
<button type="button" id="copy-secret">Copy</button>
</div>
<script src="/static/reveal.js"></script>`,
  );
}

function gonePage(): string {
  return page(
    'Link no longer available',
    html`<p class="error" id="gone">${GONE}</p><p>Ask the person who sent it for a new one.</p>`,
  );
}

/**
 * `GET /s/:id`: a page that reveals nothing until the person presses Reveal
 * (chat and mail previews fetch links; a GET never burns one). `POST
 * /s/:id/reveal` hands the ciphertext out once and records the opening; the
 * browser decrypts it with the key in the URL's fragment. A used, expired and
 * unknown link look the same: 410 with no hint which.
 */
export function createShareRouter({
  shares,
  audit,
  ipv6Prefix,
  findClient,
}: {
  shares: ShareLinks;
  audit: AuditStore;
  /** How an IPv6 address is counted by the reveal limit (`ipv6_throttle_prefix`). */
  ipv6Prefix: number;
  findClient: (clientId: string) => Promise<SharedClient | undefined>;
}): Router {
  const router = new Router({ prefix: '/s' });
  const revealWait = perAddressPerMinute(REVEALS_PER_MINUTE, ipv6Prefix);

  const render = (ctx: Koa.Context, status: number, body: string) => {
    ctx.status = status;
    ctx.set(SHARE_HEADERS);
    ctx.type = 'html';
    ctx.body = body;
  };

  router.get('/:id', async (ctx) => {
    ctx.state.route = '/s/:id';
    const clientId = await shares.pendingClientId(ctx.params.id ?? '');
    if (clientId === undefined) render(ctx, 410, gonePage());
    else render(ctx, 200, sharePage(await findClient(clientId)));
  });

  router.post('/:id/reveal', async (ctx) => {
    ctx.state.route = '/s/:id/reveal';
    ctx.set(SHARE_HEADERS);
    ctx.type = 'json';
    // A custom header: a cross-site form cannot send it, and a cross-site script needs a preflight keyport never grants.
    if (ctx.get('x-keyport-reveal') !== '1') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', message: 'reveal from the link page' };
      return;
    }
    const wait = await revealWait(ctx.ip);
    if (wait > 0) {
      noteRateLimit(ctx.state, 'share_reveals');
      ctx.status = 429;
      ctx.set('Retry-After', String(wait));
      ctx.body = { error: 'rate_limit_exceeded', retry_after: wait };
      return;
    }
    const revealed = await shares.reveal(ctx.params.id ?? '', ctx.ip);
    if (!revealed) {
      ctx.status = 410;
      ctx.body = { error: 'gone', message: GONE };
      return;
    }
    // The read receipt: when and from where, on the team's events (never the link itself).
    await audit.record({
      teamId: revealed.teamId,
      actorType: 'anonymous',
      actorId: null,
      action: 'share.opened',
      clientId: revealed.clientId,
      status: 200,
      ip: ctx.ip,
    });
    ctx.body = { ciphertext: revealed.ciphertext };
  });

  return router;
}

/**
 * Settles links that expired: their ciphertext is dropped, and a key whose
 * current link expired unopened is revoked when that was asked for, with an
 * audit event saying why. An unopened link is told as `client.share-expired`
 * (the `share_link.expired` webhook) in the settle's transaction, by the one
 * process whose conditional update settled it. A link a rotation superseded
 * was settled then and never comes here. Runs with the sweep of expired rows.
 */
export async function settleExpiredShares(
  shares: ShareLinks,
  revokeUndelivered: (link: ExpiredShare) => Promise<boolean>,
  audit: AuditStore,
  clock: Clock,
): Promise<number> {
  const now = secondsOf(clock);
  const due = await shares.expiredUnsettled(now);
  for (const link of due) {
    if (!link.revokeIfUnopened) {
      await shares.settleExpired(link, now);
      continue;
    }
    if (!(await revokeUndelivered(link))) continue;
    await audit.record({
      teamId: link.teamId,
      actorType: 'operator',
      actorId: null,
      action: 'client.revoke',
      clientId: link.clientId,
      status: 200,
      ip: null,
      details: { reason: 'its one-time link expired unopened' },
    });
  }
  return due.length;
}
