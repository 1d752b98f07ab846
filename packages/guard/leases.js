// The leases of @keyport/guard: a share of a busy client's budget that keyport
// spends up front, allowed here call by call while keyport's event stream
// (GET /keys/events) says nothing changed. See README.md, "Leases".
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { grantsAll } from './permissions.js';

/** How long after keyport's last beat the cache is trusted: a change is felt within this. */
const TRUST_MS = 1000;
/** How slowly a key's remembered call rate fades (its time constant). */
const FADE_MS = 10_000;
/** Keys whose leases are kept at once. */
const MAX_ENTRIES = 10_000;

/**
 * The verdicts a guard may reuse: per credential (an API key or an OAuth
 * access token, by its SHA-256, never the value) who it is; per client (the
 * plan budget both kinds of credential spend) the calls left of its leases,
 * so a client's key and token calls share one budget here as at keyport and
 * X-RateLimit-Remaining reads the same for both. Trusted only while
 * keyport's event stream beats: every change keyport makes to a client
 * (its keys, its tokens' revocations) is pushed before the next beat, so a
 * revoked key or token is refused here within TRUST_MS. A stream that breaks
 * or goes quiet empties the cache; until it beats again every call is a
 * round trip.
 */
export function createLeaseCache({ issuer, authorization, maxLease, onChange, onError, onServed = () => undefined }) {
  /** Per credential digest: {identity, until}, the end of the credential's last lease. */
  const entries = new Map();
  /** Per client_id: {lots: [{calls, until}], ratelimit, used}, the leases its credentials were granted. */
  const budgets = new Map();
  /**
   * Per credential digest, what the next lease asks for: its calls in the current second (`cur`,
   * of second `sec`) and the one before (`prev`), and a slowly fading count (`n`, as of `at`).
   * One entry per credential, so a call costs one lookup here.
   */
  const rates = new Map();
  let generation = 0;
  let lastBeat = 0;
  let connection;
  let closed = false;
  let backoffMs = 250;
  let watchdog;

  const trusted = () => Date.now() - lastBeat < TRUST_MS;

  /** Calls served from leases whose budget was dropped before they were reported, by client_id. */
  const unreported = new Map();

  /** Keeps the calls a client's leases served, unreported, when its budget goes. */
  function keep(clientId, calls) {
    if (calls > 0 && (unreported.has(clientId) || unreported.size < MAX_ENTRIES))
      unreported.set(clientId, (unreported.get(clientId) ?? 0) + calls);
  }

  /** The calls a client's unexpired leases still hold here (none while the stream is not trusted). */
  function held(budget, now = Date.now()) {
    if (!budget || !trusted()) return 0;
    let calls = 0;
    for (const lot of budget.lots) if (lot.until > now) calls += lot.calls;
    return calls;
  }

  /** Counts `cost` calls of a credential in its rate. */
  function countCall(digest, cost, now) {
    const s = Math.floor(now / 1000);
    let rate = rates.get(digest);
    if (!rate) {
      if (rates.size >= MAX_ENTRIES) rates.delete(rates.keys().next().value);
      rate = { sec: s, cur: 0, prev: 0, n: 0, at: now };
      rates.set(digest, rate);
    }
    if (rate.sec !== s) {
      rate.prev = rate.sec === s - 1 ? rate.cur : 0;
      rate.cur = 0;
      rate.sec = s;
    }
    rate.cur += cost;
    rate.n = rate.n * Math.exp((rate.at - now) / FADE_MS) + cost;
    rate.at = now;
  }

  function forget(clientId) {
    generation += 1;
    for (const [digest, entry] of entries)
      if (clientId === undefined || entry.identity.client_id === clientId) entries.delete(digest);
    for (const [id, budget] of budgets) {
      if (clientId !== undefined && id !== clientId) continue;
      budgets.delete(id);
      keep(id, budget.used);
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

  /** The calls this credential's next lease asks for. */
  function wanted(digest) {
    // About four times the key's calls of the last second or two (the lease
    // lives up to five seconds); none for a key used once in a while, whose
    // unspent lease would be budget lost when it expires.
    // The fading count remembers a busy key through a pause of a few seconds.
    const rate = rates.get(digest);
    const s = Math.floor(Date.now() / 1000);
    const cur = rate?.sec === s ? rate.cur : 0;
    const prev = rate?.sec === s ? rate.prev : rate?.sec === s - 1 ? rate.cur : 0;
    const seen = prev + cur - 1;
    const perSecond = ((rate?.n ?? 0) * 1000) / FADE_MS;
    return trusted() ? Math.min(maxLease, Math.floor(4 * Math.max(0, seen, perSecond - 1))) : 0;
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
     * Counts a call of this credential (unless `again`); the answer is a verdict when its client's leases allow it here.
     * A lease bound to an address (the key has an allowlist) serves calls from that address only.
     */
    take(digest, cost, scopes, again = false, permissions = [], ip = undefined) {
      start();
      const now = Date.now();
      if (!again) countCall(digest, cost, now);
      const entry = entries.get(digest);
      if (
        !entry ||
        !trusted() ||
        entry.until <= now ||
        (entry.ip !== undefined && entry.ip !== ip) ||
        !scopes.every((x) => entry.identity.scopes.includes(x)) ||
        // A permission the lease's key lacks goes to keyport, which answers INSUFFICIENT_PERMISSIONS.
        !grantsAll(entry.identity.permissions, permissions)
      )
        return undefined;
      const budget = budgets.get(entry.identity.client_id);
      if (!budget) return undefined;
      // The lots are kept in the order they end (store()): the expired ones are first.
      const { lots } = budget;
      let expired = 0;
      while (expired < lots.length && lots[expired].until <= now) expired += 1;
      if (expired) lots.splice(0, expired);
      let left = 0;
      for (const lot of lots) left += lot.calls;
      if (left < cost) return undefined;
      // The lease that ends first is spent first: none of the client's budget is left to expire unspent.
      for (let owed = cost; owed > 0;) {
        const lot = lots[0];
        const spent = Math.min(owed, lot.calls);
        lot.calls -= spent;
        owed -= spent;
        if (lot.calls === 0) lots.shift();
      }
      budget.used += cost;
      // Low on calls, or on time (a lease sized for more calls than come before it ends): the next
      // lease is asked now, once per lease, while this one still serves (renewalDue()).
      if (entry.renewal === undefined && (left - cost <= budget.low || entry.until - now <= entry.ttl / 4))
        entry.renewal = 'due';
      onServed();
      const { limit, remaining, reset } = budget.ratelimit;
      return {
        status: 200,
        headers: {
          'X-RateLimit-Limit': String(limit),
          'X-RateLimit-Remaining': String(remaining + left - cost),
          'X-RateLimit-Reset': String(reset),
        },
        identity: entry.identity,
      };
    },
    /**
     * Whether this credential's next lease should be asked for now, ahead of
     * its lease's end: true once per lease, after a call left its client's
     * leases a quarter of the last one or less, or a quarter of its time (and
     * the guard trusts keyport's stream).
     */
    renewalDue(digest) {
      const entry = entries.get(digest);
      if (entry?.renewal !== 'due' || !trusted()) return false;
      entry.renewal = 'asked';
      return true;
    },
    /** Whether keyport's VALID `answer` for this credential says other than the identity its lease serves. */
    changed(digest, answer) {
      const entry = entries.get(digest);
      if (!entry) return false;
      const held = entry.identity;
      const same = (a = [], b = []) => a.length === b.length && a.every((x, i) => x === b[i]);
      return (
        held.client_id !== answer.client_id ||
        held.team_id !== answer.team_id ||
        held.environment !== answer.environment ||
        !same(held.scopes, answer.scopes) ||
        !same(held.permissions, answer.permissions) ||
        JSON.stringify(held.meta) !== JSON.stringify(answer.meta ?? null) ||
        (entry.ip !== undefined) !== Boolean(answer.allowed_ips?.length)
      );
    },
    /** Keyport refused a renewal of this credential: its client changed (by hand, or a push still on its way); forget it. */
    refused(digest) {
      const clientId = entries.get(digest)?.identity.client_id;
      if (clientId !== undefined) forget(clientId);
    },
    /** Whether this credential holds a lease here (keyport found it valid when it granted it). */
    holds(digest) {
      return entries.has(digest);
    },
    /** What to ask keyport for with this credential's next verification, and the mark to store its answer with. */
    request(digest, renewal = false) {
      const clientId = entries.get(digest)?.identity.client_id;
      const budget = clientId === undefined ? undefined : budgets.get(clientId);
      const lease = wanted(digest);
      // A renewal is no call: without a lease to ask for it is not made (and drains nothing).
      if (renewal && lease === 0) return undefined;
      // The calls the client's leases served here go with the verification (the same client's usage).
      const leasedCalls = clientId === undefined ? 0 : (budget?.used ?? 0) + (unreported.get(clientId) ?? 0);
      if (budget) budget.used = 0;
      if (clientId !== undefined) unreported.delete(clientId);
      return { lease, leasedCalls, mark: generation, clientId };
    },
    /** Keeps a lease with its credential's identity, unless a change arrived while it was being granted. */
    store(digest, mark, answer, identity, ip = undefined) {
      if (!answer.lease || mark !== generation || !trusted()) return;
      const now = Date.now();
      const until = now + answer.lease.ttl_ms;
      entries.delete(digest);
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value);
      entries.set(digest, { identity, until, ttl: answer.lease.ttl_ms, ip });
      let budget = budgets.get(identity.client_id);
      if (!budget) {
        if (budgets.size >= MAX_ENTRIES) {
          const [oldest, evicted] = budgets.entries().next().value;
          budgets.delete(oldest);
          keep(oldest, evicted.used);
        }
        budget = { lots: [], ratelimit: answer.ratelimit, used: 0, low: 0 };
        budgets.set(identity.client_id, budget);
      }
      budget.low = Math.floor(answer.lease.calls / 4);
      // In the order they end, so take() spends the first to end and drops the expired from the front.
      budget.lots = budget.lots.filter((lot) => lot.until > now);
      budget.lots.push({ calls: answer.lease.calls, until });
      budget.lots.sort((x, y) => x.until - y.until);
    },
    /**
     * The budget keyport answered for a client (`ratelimit` of /keys/verify),
     * as this guard shows it: what is left at keyport plus the calls this
     * guard's leases of the client still hold (spent at keyport, not made).
     * The latest answer of a window is kept for the calls leases serve.
     */
    shown(clientId, ratelimit) {
      const budget = budgets.get(clientId);
      if (!budget) return ratelimit;
      const kept = budget.ratelimit;
      // Answers may arrive out of order: within one window the budget only goes down.
      if (ratelimit.reset !== kept.reset || ratelimit.remaining < kept.remaining) budget.ratelimit = ratelimit;
      return { ...budget.ratelimit, remaining: budget.ratelimit.remaining + held(budget) };
    },
    /** The calls served from leases and not reported yet, by client_id; they count as reported from now on. */
    drain() {
      const due = new Map(unreported);
      unreported.clear();
      for (const [clientId, budget] of budgets) {
        if (budget.used) due.set(clientId, (due.get(clientId) ?? 0) + budget.used);
        budget.used = 0;
      }
      return due;
    },
    /** Calls whose report failed: reported again with the next one. */
    giveBack(due) {
      for (const [clientId, calls] of due) keep(clientId, calls);
    },
    get live() {
      return trusted();
    },
    /** Ends the stream and drops every lease; what they served stays to be drained. */
    close() {
      closed = true;
      // An answer still on its way stores nothing.
      generation += 1;
      clearInterval(watchdog);
      connection?.destroy();
      for (const [clientId, budget] of budgets) keep(clientId, budget.used);
      entries.clear();
      budgets.clear();
    },
  };
}
