// The usage reports of @keyport/guard: calls allowed from a lease are
// reported to keyport's POST /keys/usage within REPORT_MS of being served
// (and when the guard closes), so a key's usage equals its calls even when
// the key goes quiet and is never verified again. See README.md, "Leases".

/** How long a call served from a lease may wait to be reported. */
const REPORT_MS = 2000;
/** The most keys one report names (keyport's limit). */
const KEYS_PER_REPORT = 1000; // clients per report

/**
 * `post(body)` sends a JSON body to /keys/usage and resolves with
 * `{status, text}`. A report that fails is kept and sent again with the
 * next one; one keyport refused as malformed (400) is dropped.
 */
export function createUsageReporter({ leases, post, onError }) {
  let timer;
  /** The report on its way, if any: reports go one at a time. */
  let sending = Promise.resolve();
  let closed = false;

  async function send() {
    const due = leases.drain();
    const items = [...due];
    for (let i = 0; i < items.length; i += KEYS_PER_REPORT) {
      const part = items.slice(i, i + KEYS_PER_REPORT);
      // By client: a lease is of the client's budget, spent by its keys and its access tokens alike.
      const body = JSON.stringify({ leased_calls: part.map(([client_id, calls]) => ({ client_id, calls })) });
      try {
        const res = await post(body);
        if (res.status === 400) onError(new Error(`keyport refused a usage report: ${res.text}`));
        else if (res.status !== 200) throw new Error(`keyport answered ${res.status} to /keys/usage`);
      } catch (err) {
        onError(err);
        leases.giveBack(new Map(items.slice(i)));
        if (!closed) schedule();
        return;
      }
    }
  }

  function flush() {
    sending = sending.then(send);
    return sending;
  }

  /** Called when a call was served from a lease: a report goes within REPORT_MS. */
  function schedule() {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, REPORT_MS);
    // Never keeps the application's process alive by itself: close() reports what is left.
    timer.unref();
  }

  return {
    schedule,
    /** Reports everything still unreported, once; no more reports after. */
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      return flush();
    },
  };
}
