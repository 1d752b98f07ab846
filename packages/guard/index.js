// @keyport/guard: protects an Express, Connect or Koa app with keys that
// keyport issued. It reads `Authorization: Bearer <key>` or `x-api-key`,
// verifies keys and access tokens through keyport's POST /keys/verify (one
// round trip, which also spends one API call of the key's plan budget), and
// answers refusals the way keyport's documentation says. A busy key or token
// is verified once per lease: keyport hands the guard a share of its client's
// budget (one budget for the client's keys and tokens), spent here call by
// call, and pushes every change to a key over
// GET /keys/events, which drops what was cached. It never lets a request
// through unverified: if keyport cannot be reached, the answer is 503.
// No imports from keyport's server: this package stands alone.
import { hash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { crc32 } from 'node:zlib';
import { createLeaseCache } from './leases.js';
import { createUsageReporter } from './reports.js';
import { createRenewalQueue } from './renewals.js';
import { grantsAll } from './permissions.js';

export { grantsAll };
import { createJwtChecker, looksLikeJwt } from './jwt.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** A key of keyport's current format: `<prefix>_sk_<env>_<24 random><6 checksum>`. */
const KEY_FORMAT = /^[a-z][a-z0-9]{0,15}_sk_(?:prod|dev)_[1-9A-HJ-NP-Za-km-z]{30}$/;
const PRINTABLE = /^[\x21-\x7e]{1,512}$/;
/** Query parameters that would carry a key in a URL (and so into logs and browser history). */
const KEY_PARAMETERS = ['api_key', 'apikey', 'api-key', 'key', 'access_token', 'token', 'x-api-key'];

/** The CRC32 checksum a current-format key ends with, as keyport computes it. */
function checksumOf(body) {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE58[n % 58] + out;
    n = Math.floor(n / 58);
  }
  return out;
}

/**
 * Whether a key could be one keyport issued, without asking keyport: printable
 * and not too long, and when it has the current format, a valid checksum (a
 * mistyped or made-up key costs no round trip). Older keys have no checksum.
 */
export function isPlausibleKey(key) {
  // A JWT access token is longer than any key (checked with keyport's keys, or at keyport).
  if (looksLikeJwt(key)) return true;
  if (typeof key !== 'string' || !PRINTABLE.test(key)) return false;
  if (KEY_FORMAT.test(key)) return checksumOf(key.slice(0, -6)) === key.slice(-6);
  return true;
}

/** The first characters of a key: all that may ever be logged of it. */
export function fingerprint(key) {
  return typeof key === 'string' ? `${key.slice(0, 12)}…` : '';
}

/** Freezes a JSON value all the way down, so no handler changes what the next call of the key sees. */
function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

/** OpenID Connect's own scopes: a credential holding only these is for signing in, not for an API. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const INVALID = { status: 401, body: { error: 'invalid_api_key', message: 'API key is invalid or expired' } };

function refusal(status, error, message, extra = {}) {
  return { status, body: { error, message, ...extra } };
}

/**
 * Finds the one key a request carries, or why it cannot be used.
 * `headers` are Node's lower-cased headers; `rawHeaders` the name/value list.
 */
function keyOf(rawHeaders, url) {
  // Most calls have no query: parsing a URL for each would be the guard's dearest step.
  const query = url?.includes('?') ? new URL(url, 'http://guard.invalid').searchParams : undefined;
  if (query && KEY_PARAMETERS.some((name) => query.has(name))) {
    return {
      refused: refusal(
        400,
        'invalid_request',
        'send the API key in the Authorization or x-api-key header, never in the URL',
      ),
    };
  }
  const carried = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = String(rawHeaders[i]).toLowerCase();
    const value = String(rawHeaders[i + 1] ?? '');
    if (name === 'x-api-key') carried.push(value.trim());
    else if (name === 'authorization') {
      // Without a regular expression over the value: a JWT access token is about 1,000 characters.
      const trimmed = value.trim();
      if (trimmed.length < 8 || trimmed.slice(0, 7).toLowerCase() !== 'bearer ') return { refused: INVALID };
      carried.push(trimmed.slice(7).trim());
    }
  }
  if (carried.length === 0) return { refused: INVALID };
  if (carried.length > 1)
    return { refused: refusal(400, 'invalid_request', 'send one API key, in one Authorization or x-api-key header') };
  // Whether it could be a key of keyport's is asked by verify() before any round trip (a key
  // holding a lease was plausible when keyport granted it: the checksum is not redone per call).
  return { key: carried[0] };
}

/** The answers to a lease's renewal that leave the lease serving: the key is as it was. */
const KEPT_ON_RENEWAL = new Set(['VALID', 'RATE_LIMITED', 'USAGE_EXCEEDED']);

/**
 * keyportGuard({ issuer, clientId, clientSecret }): the resource server's
 * credentials (`keyport resourceserveradd`). Options: `timeoutMs` (2000) for
 * each verification; `onError(err)` to log why keyport could not be reached;
 * `cache` (true) to use leases for busy keys, `maxLease` (1000, keyport's most) the most calls
 * one lease may hold; `onChange(clientId)` told of each change keyport pushes;
 * `jwt` (false) to check JWT access tokens here with keyport's keys (true, or
 * `{audience, issuer, clockToleranceSeconds}`: the resource indicator its
 * tokens carry, by default `urn:keyport:rs:<clientId>`, and their `iss`, by
 * default `issuer`); `renewalWaitMs` (20) how long a lease renewal waits for
 * others to go with it in one POST /keys/verify/batch, at most until its
 * key's next call (0: the next turn of the event loop).
 */
export function keyportGuard({
  issuer,
  clientId,
  clientSecret,
  timeoutMs = 2000,
  onError = () => undefined,
  cache = true,
  maxLease = 1000,
  onChange = () => undefined,
  jwt = false,
  renewalWaitMs = 20,
}) {
  if (!issuer || !clientId || !clientSecret)
    throw new TypeError('keyportGuard needs issuer, clientId and clientSecret');
  // keyport grants at most 1,000 calls a lease and refuses a request asking more (400): every lease would fail.
  if (!Number.isInteger(maxLease) || maxLease < 1 || maxLease > 1000)
    throw new TypeError('keyportGuard: maxLease must be a whole number from 1 to 1000');
  const endpoint = new URL('/keys/verify', issuer).href;
  const authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const leases = cache
    ? createLeaseCache({
        issuer,
        authorization,
        maxLease,
        onChange,
        onError,
        onServed: () => reports.schedule(),
      })
    : undefined;
  const reports = leases
    ? createUsageReporter({ leases, post: (body) => post(body, new URL('/keys/usage', issuer).href), onError })
    : undefined;
  // node:http with kept-alive connections: a verification costs a fraction of what fetch() costs.
  const agent = new (endpoint.startsWith('https:') ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: 64 });
  const send = endpoint.startsWith('https:') ? httpsRequest : httpRequest;

  const renewals = createRenewalQueue({
    post: (body, path) => post(body, new URL(path, issuer).href),
    waitMs: renewalWaitMs,
  });

  /** POSTs a JSON body to /keys/verify (or `url`): the status and the answer's text, within timeoutMs. */
  function post(body, url = endpoint) {
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          agent,
          headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, text }));
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`keyport did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GETs a JSON document (keyport's discovery document and JWKS), within timeoutMs. */
  function getJson(url) {
    return new Promise((resolve, reject) => {
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
        url,
        { agent, headers: { accept: 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`keyport answered ${res.statusCode} to ${url}`));
            else {
              try {
                resolve(JSON.parse(text));
              } catch (err) {
                reject(err);
              }
            }
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`keyport did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', reject);
      req.end();
    });
  }

  const jwtOptions = jwt === true ? {} : jwt || undefined;
  const jwts = jwtOptions
    ? createJwtChecker({
        issuer: jwtOptions.issuer ?? issuer,
        audience: jwtOptions.audience ?? `urn:keyport:rs:${clientId}`,
        clockToleranceSeconds: jwtOptions.clockToleranceSeconds ?? 0,
        getJson,
        onError,
      })
    : undefined;
  /** The SHA-256 of each checked JWT access token, by its checker's answer (one per token). */
  const tokenDigests = new WeakMap();

  /**
   * A JWT access token: its signature, issuer, audience and expiry checked here
   * with keyport's keys (a bad one never leaves the guard), then spent of its
   * client's plan budget like an API key: from a lease (no round trip) while the
   * event stream beats, else by asking keyport, which also says whether the
   * token, its client or its person was revoked since. A pushed change of the
   * client drops its leases, so a revoked token is refused at its next call.
   */
  async function verifyJwt(token, { scopes, permissions = [], ip }) {
    const local = await jwts.check(token);
    if (local.unavailable) return unavailable();
    if (local.invalid) return { ...INVALID, headers: {} };
    // The ~1 KB token is hashed once, when its signature is checked, not on every call.
    let digest = leases ? tokenDigests.get(local) : '';
    if (digest === undefined) {
      digest = hash('sha256', token, 'base64url');
      tokenDigests.set(local, digest);
    }
    const verdict = await verifyDigested(token, digest, { scopes, permissions, ip });
    if (verdict.status !== 200) return verdict;
    const granted = local.scopes;
    if (!scopes.every((s) => granted.includes(s) && verdict.identity.scopes.includes(s)))
      return {
        status: 403,
        headers: verdict.headers,
        body: { error: 'insufficient_permissions', message: `this call needs the scopes: ${scopes.join(' ')}` },
      };
    return verdict;
  }

  /** Verifications on their way, per key: concurrent calls of one key wait for its lease rather than each asking. */
  const pending = new Map();

  /** Whether keyport allows this call of `key`: the HTTP answer the API should give, and who the caller is when allowed. */
  function verify(key, options = {}) {
    // One-shot hash (Node ≥ 20.12): a third of createHash's cost per call.
    return leases ? verifyDigested(key, hash('sha256', key, 'base64url'), options) : verifyDigested(key, '', options);
  }

  /** verify() for a credential whose SHA-256 (base64url) is `digest` ('' with no leases). */
  async function verifyDigested(key, digest, { scopes = [], permissions = [], cost = 1, ip: address } = {}) {
    // Without an IPv6 zone (`fe80::1%eth0`, as Node gives a link-local peer): keyport takes addresses only.
    const ip = typeof address === 'string' ? address.replace(/%.*$/s, '') : address;
    if (!leases) return isPlausibleKey(key) ? ask(key, { scopes, permissions, cost, ip }) : { ...INVALID, headers: {} };
    // A mistyped or made-up key costs no round trip, and is not counted among the keys' rates.
    if (!leases.holds(digest) && !isPlausibleKey(key)) return { ...INVALID, headers: {} };
    const local = leases.take(digest, cost, scopes, false, permissions, ip);
    if (local) {
      // Running low: the next lease is asked for now, and this call (and the next) go on from this one.
      if (!pending.has(digest)) {
        if (leases.renewalDue(digest)) renew(key, digest, { scopes, permissions, ip });
        // A busy key's renewal waits for the others no longer than its key's next call.
      } else renewals.hurry(digest);
      return local;
    }
    const waiting = pending.get(digest);
    if (waiting) {
      // Its lease cannot serve this call: a renewal still queued goes now.
      renewals.hurry(digest);
      await waiting;
      const granted = leases.take(digest, cost, scopes, true, permissions, ip);
      if (granted) return granted;
    }
    const asked = ask(key, { scopes, permissions, cost, ip }, digest);
    if (!waiting) {
      pending.set(digest, asked);
      const done = () => pending.get(digest) === asked && pending.delete(digest);
      asked.then(done, done);
    }
    return asked;
  }

  /**
   * A busy credential's next lease, asked for before its lease runs out, so
   * its calls never wait on keyport: a verification with `cost: 0` (no call
   * of its own; keyport counts nothing for it but its leased calls). A
   * refusal forgets the credential's client here; a failure leaves the lease
   * to serve what it holds, and is not tried again for this lease.
   */
  function renew(key, digest, options) {
    const asked = ask(key, { ...options, cost: 0 }, digest, true);
    pending.set(digest, asked);
    const done = () => pending.get(digest) === asked && pending.delete(digest);
    asked.then(done, done);
  }

  /** One round trip to keyport's POST /keys/verify (with `renewal`, a lease's renewal: none without a lease to ask). */
  async function ask(key, { scopes, permissions = [], cost, ip }, digest, renewal = false) {
    const asking = digest ? leases.request(digest, renewal) : { lease: 0, leasedCalls: 0 };
    if (!asking) return undefined;
    const { lease, leasedCalls, mark, clientId } = asking;
    let answer;
    try {
      const request = {
        key,
        scopes,
        ...(permissions.length ? { permissions } : {}),
        cost,
        ...(ip ? { ip } : {}),
        ...(lease ? { lease } : {}),
        ...(leasedCalls ? { leased_calls: leasedCalls } : {}),
      };
      // A renewal goes with the others due (POST /keys/verify/batch); a call waiting on its answer goes alone, now.
      if (renewal) answer = await renewals.ask(request, digest);
      else {
        const res = await post(JSON.stringify(request));
        if (res.status !== 200) throw new Error(`keyport answered ${res.status} to /keys/verify`);
        answer = JSON.parse(res.text);
      }
    } catch (err) {
      onError(err);
      // The calls its leases served go with the client's next report (keyport may not have counted them).
      if (leasedCalls) leases.giveBack(new Map([[clientId, leasedCalls]]));
      return unavailable();
    }
    // A renewal refused for the key itself (revoked, expired, its scopes or addresses changed) forgets it;
    // one refused for the budget leaves the lease to serve the calls it holds (spent, and so allowed).
    if (renewal && !KEPT_ON_RENEWAL.has(answer.code)) leases.refused(digest);
    // Answered VALID with no lease (the budget near its end), the old lease serves on: unless the key changed.
    else if (renewal && answer.code === 'VALID' && !answer.lease && leases.changed(digest, answer))
      leases.refused(digest);
    let identity;
    if (answer.code === 'VALID') {
      identity = Object.freeze({
        team_id: answer.team_id,
        client_id: answer.client_id,
        environment: answer.environment,
        scopes: Object.freeze([...answer.scopes]),
        // The key's own metadata; one frozen copy, shared by every call its lease serves.
        meta: deepFreeze(answer.meta === undefined ? null : structuredClone(answer.meta)),
        // What the key may do now (its own permissions and its roles'), as keyport answered.
        permissions: Object.freeze([...(answer.permissions ?? [])]),
      });
      // A key with an address allowlist: its lease serves only the address keyport checked.
      if (digest) leases.store(digest, mark, answer, identity, answer.allowed_ips?.length ? ip : undefined);
    }
    const headers = {};
    if (answer.ratelimit) {
      // The client's budget as keyport has it, plus what this guard's leases of it still hold:
      // the same count whether the call came with the client's key or its access token.
      const shown =
        leases && answer.code !== 'RATE_LIMITED' ? leases.shown(answer.client_id, answer.ratelimit) : answer.ratelimit;
      headers['X-RateLimit-Limit'] = String(shown.limit);
      headers['X-RateLimit-Remaining'] = String(shown.remaining);
      headers['X-RateLimit-Reset'] = String(shown.reset);
    }
    switch (answer.code) {
      case 'VALID':
        return { status: 200, headers, identity };
      case 'RATE_LIMITED': {
        const retryAfter = answer.retry_after ?? 1;
        return {
          status: 429,
          headers: { ...headers, 'Retry-After': String(retryAfter) },
          body: { error: 'rate_limit_exceeded', retry_after: retryAfter },
        };
      }
      case 'USAGE_EXCEEDED':
        return {
          status: 429,
          headers,
          body: { error: 'usage_exceeded', message: 'the API key has used up its quota' },
        };
      case 'INSUFFICIENT_SCOPE':
        return {
          status: 403,
          headers,
          body: { error: 'insufficient_permissions', message: `this call needs the scopes: ${scopes.join(' ')}` },
        };
      case 'FORBIDDEN_IP':
        return {
          status: 403,
          headers,
          body: {
            error: 'insufficient_permissions',
            message: answer.message ?? `the address ${ip ?? '(unknown)'} is not allowed to use this key`,
          },
        };
      case 'INSUFFICIENT_PERMISSIONS':
        return {
          status: 403,
          headers,
          body: {
            error: 'insufficient_permissions',
            message: `this call needs the permissions: ${permissions.join(' ')}`,
          },
        };
      case 'NO_API_ACCESS':
        return {
          status: 403,
          headers,
          body: { error: 'insufficient_permissions', message: "the team's plan does not include API access" },
        };
      default:
        // NOT_FOUND, EXPIRED, REVOKED: the same answer, with no hint which.
        return { ...INVALID, headers };
    }
  }

  function unavailable() {
    return {
      status: 503,
      headers: { 'Retry-After': '1' },
      body: { error: 'service_unavailable', message: 'API key verification is unavailable; try again' },
    };
  }

  /**
   * The one decision every surface makes (the Express and Koa middleware, and
   * the gateway check of gateway.js): the verdict on a call carrying
   * `rawHeaders` (Node's name/value list) to `url` (its path and query) from
   * `ip`, on a route needing `scopes`.
   */
  async function check({ rawHeaders = [], url = '/', ip } = {}, scopes = [], permissions = []) {
    const found = keyOf(rawHeaders, url);
    if (found.refused) return { headers: {}, ...found.refused };
    const verdict =
      jwts && looksLikeJwt(found.key)
        ? await verifyJwt(found.key, { scopes, permissions, ip })
        : await verify(found.key, { scopes, permissions, ip });
    // A route that names no scope (nor permission) still needs an API scope: a credential with
    // OpenID Connect scopes only (a person's sign-in, for userinfo) is no way into the API.
    if (
      verdict.identity &&
      scopes.length === 0 &&
      permissions.length === 0 &&
      !verdict.identity.scopes.some((s) => !OIDC_SCOPES.has(s))
    ) {
      return {
        status: 403,
        headers: verdict.headers,
        body: { error: 'insufficient_permissions', message: 'this API needs a key with at least one API scope' },
      };
    }
    return verdict;
  }

  /** The verdict on a Node request (the middleware's view of a call). */
  const decide = (req, scopes, permissions) =>
    check({ rawHeaders: req.rawHeaders ?? [], url: req.url, ip: req.socket?.remoteAddress }, scopes, permissions);

  return {
    verify,
    check,
    /** Whether cached verdicts are in use now (keyport's event stream is beating). */
    get live() {
      return leases?.live ?? false;
    },
    /**
     * Ends the event stream and reports the calls allowed from leases; the
     * promise resolves once keyport has them (the guard keeps working, one
     * round trip per call).
     */
    async close() {
      leases?.close();
      renewals.flush();
      // Verifications on their way carry calls served from leases: a failed one gives them back to the last report.
      await Promise.allSettled([...pending.values()]);
      await reports?.close();
    },
    /** Express or Connect middleware: `req.keyport` is {team_id, client_id, environment, scopes, meta, permissions}. */
    express({ scopes = [], permissions = [] } = {}) {
      return (req, res, next) => {
        decide(req, scopes, permissions).then(
          (verdict) => {
            const { headers } = verdict;
            for (const name in headers) res.setHeader(name, headers[name]);
            if (verdict.identity) {
              req.keyport = verdict.identity;
              next();
              return;
            }
            res.statusCode = verdict.status;
            res.setHeader('content-type', 'application/json');
            res.setHeader('cache-control', 'no-store');
            res.end(JSON.stringify(verdict.body));
          },
          (err) => next(err),
        );
      };
    },
    /** Koa middleware: `ctx.state.keyport` is {team_id, client_id, environment, scopes, meta, permissions}. */
    koa({ scopes = [], permissions = [] } = {}) {
      return async (ctx, next) => {
        const verdict = await decide(ctx.req, scopes, permissions);
        ctx.set(verdict.headers ?? {});
        if (verdict.identity) {
          ctx.state.keyport = verdict.identity;
          await next();
          return;
        }
        ctx.status = verdict.status;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = verdict.body;
      };
    },
  };
}
