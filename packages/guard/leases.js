// The leases of @keyport/guard: a share of a busy key's budget that keyport
// spends up front, allowed here call by call while keyport's event stream
// (GET /keys/events) says nothing changed. See README.md, "Leases".
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How long after keyport's last beat the cache is trusted: a change is felt within this. */
const TRUST_MS = 1000;
/** How slowly a key's remembered call rate fades (its time constant). */
const FADE_MS = 10_000;
/** Keys whose leases are kept at once. */
const MAX_ENTRIES = 10_000;

/**
 * The verdicts a guard may reuse: per key (by its SHA-256, never the key),
 * who it is and the calls left of its lease. Trusted only while keyport's
 * event stream beats: every change keyport makes to a key is pushed before
 * the next beat, so a revoked key is refused here within TRUST_MS. A stream
 * that breaks or goes quiet empties the cache; until it beats again every
 * call is a round trip.
 */
export function createLeaseCache({ issuer, authorization, maxLease, onChange, onError, onServed = () => undefined }) {
  const entries = new Map();
  /** Calls per key in the current and the previous second, and a slowly fading count: what the next lease asks for. */
  let recent = new Map();
  let previous = new Map();
  let second = 0;
  const fading = new Map();
  let generation = 0;
  let lastBeat = 0;
  let connection;
  let closed = false;
  let backoffMs = 250;
  let watchdog;

  const trusted = () => Date.now() - lastBeat < TRUST_MS;

  /** Calls served from leases dropped before they were reported: reported with the next report or verification. */
  const unreported = new Map();

  /** Keeps the calls an entry served, unreported, when the entry goes. */
  function keep(digest, calls) {
    if (calls > 0 && (unreported.has(digest) || unreported.size < MAX_ENTRIES))
      unreported.set(digest, (unreported.get(digest) ?? 0) + calls);
  }

  function forget(clientId) {
    generation += 1;
    for (const [digest, entry] of entries) {
      if (clientId !== undefined && entry.identity.client_id !== clientId) continue;
      entries.delete(digest);
      keep(digest, entry.used);
    }
    if (clientId !== undefined) onChange(clientId);
  }

  function lost(req) {
    if (req !== connection) return;
    connection = undefined;
    lastBeat = 0;
    forget(undefined);
    if (closed) return;
    setTimeout(connect, backoffMs).unref();
    backoffMs = Math.min(backoffMs * 2, 30_000);
  }

  function connect() {
    if (closed) return;
    const url = new URL('/keys/events', issuer);
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      headers: { authorization, accept: 'text/event-stream' },
      agent: false,
    });
    connection = req;
    // The stream never keeps the application's process alive by itself.
    req.on('socket', (socket) => socket.unref());
    req.on('error', (err) => {
      onError(err);
      lost(req);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        onError(new Error(`keyport answered ${res.statusCode} to /keys/events`));
        res.resume();
        lost(req);
        return;
      }
      backoffMs = 250;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (message.startsWith(': beat')) lastBeat = Date.now();
          else if (message.startsWith('data:')) {
            let clientId;
            try {
              clientId = JSON.parse(message.slice(5)).client_id;
            } catch {
              // Not understood: forget everything rather than guess.
            }
            forget(typeof clientId === 'string' ? clientId : undefined);
          }
        }
      });
      res.on('close', () => lost(req));
    });
    req.end();
  }

  function start() {
    if (connection || closed || watchdog) return;
    connect();
    // A stream that stops beating without closing (a frozen process, a lost network) is replaced.
    watchdog = setInterval(() => {
      if (connection && lastBeat && Date.now() - lastBeat > 5 * TRUST_MS) connection.destroy();
    }, TRUST_MS);
    watchdog.unref();
  }

  return {
    /**
     * Counts a call of this key (unless `again`); the answer is a verdict when its lease allows it here.
     * A lease bound to an address (the key has an allowlist) serves calls from that address only.
     */
    take(digest, cost, scopes, again = false, ip = undefined) {
      start();
      const now = Date.now();
      const s = Math.floor(now / 1000);
      if (s !== second) {
        previous = s === second + 1 ? recent : new Map();
        second = s;
        recent = new Map();
      }
      if (!again) {
        recent.set(digest, (recent.get(digest) ?? 0) + cost);
        const f = fading.get(digest);
        if (f) {
          f.n = f.n * Math.exp((f.at - now) / FADE_MS) + cost;
          f.at = now;
        } else {
          if (fading.size >= MAX_ENTRIES) fading.delete(fading.keys().next().value);
          fading.set(digest, { n: cost, at: now });
        }
      }
      const entry = entries.get(digest);
      if (
        !entry ||
        !trusted() ||
        entry.until <= now ||
        entry.calls < cost ||
        (entry.ip !== undefined && entry.ip !== ip) ||
        !scopes.every((x) => entry.identity.scopes.includes(x))
      )
        return undefined;
      entry.calls -= cost;
      entry.used += cost;
      onServed();
      const { limit, remaining, reset } = entry.ratelimit;
      return {
        status: 200,
        headers: {
          'X-RateLimit-Limit': String(limit),
          'X-RateLimit-Remaining': String(remaining + entry.calls),
          'X-RateLimit-Reset': String(reset),
        },
        identity: entry.identity,
      };
    },
    /** What to ask keyport for with this key's next verification, and the mark to store its answer with. */
    request(digest) {
      const entry = entries.get(digest);
      const leasedCalls = (entry?.used ?? 0) + (unreported.get(digest) ?? 0);
      if (entry) entry.used = 0;
      unreported.delete(digest);
      // About four times the key's calls of the last second or two (the lease
      // lives up to five seconds); none for a key used once in a while, whose
      // unspent lease would be budget lost when it expires.
      // The fading count remembers a busy key through a pause of a few seconds.
      const seen = (previous.get(digest) ?? 0) + (recent.get(digest) ?? 0) - 1;
      const perSecond = ((fading.get(digest)?.n ?? 0) * 1000) / FADE_MS;
      const lease = trusted() ? Math.min(maxLease, Math.floor(4 * Math.max(0, seen, perSecond - 1))) : 0;
      return { lease, leasedCalls, mark: generation };
    },
    /** Keeps a lease, unless a change arrived while it was being granted. */
    store(digest, mark, answer, identity, ip = undefined) {
      if (!answer.lease || mark !== generation || !trusted()) return;
      // Calls the replaced lease served while this one was being granted are still to be reported.
      keep(digest, entries.get(digest)?.used ?? 0);
      entries.delete(digest);
      if (entries.size >= MAX_ENTRIES) {
        const [oldest, evicted] = entries.entries().next().value;
        entries.delete(oldest);
        keep(oldest, evicted.used);
      }
      entries.set(digest, {
        identity,
        calls: answer.lease.calls,
        used: 0,
        until: Date.now() + answer.lease.ttl_ms,
        ratelimit: answer.ratelimit,
        ip,
      });
    },
    /** The calls served from leases and not reported yet, by key digest; they count as reported from now on. */
    drain() {
      const due = new Map(unreported);
      unreported.clear();
      for (const [digest, entry] of entries) {
        if (entry.used) due.set(digest, (due.get(digest) ?? 0) + entry.used);
        entry.used = 0;
      }
      return due;
    },
    /** Calls whose report failed: reported again with the next one. */
    giveBack(due) {
      for (const [digest, calls] of due) keep(digest, calls);
    },
    get live() {
      return trusted();
    },
    /** Ends the stream and drops every lease; what they served stays to be drained. */
    close() {
      closed = true;
      clearInterval(watchdog);
      connection?.destroy();
      for (const [digest, entry] of entries) keep(digest, entry.used);
      entries.clear();
    },
  };
}
