// The lease renewals of @keyport/guard, sent together: a renewal is asked
// while a quarter of a lease is left (seconds ahead of its end for most keys),
// so those asked within `waitMs` of each other go in one
// POST /keys/verify/batch, answered item by item as /keys/verify answers.
// A renewal waits no longer than its key's next call: a busy key's goes then.
// One round trip for many busy keys, where each was a round trip of its own.
// See README.md, "Leases".

/** The most verifications one batch holds (keyport's limit). */
export const MAX_BATCH = 50;
/** Keyport reads a batch of up to 128 kB: the items' JSON stays under it, with room for `{"items":[]}`. */
const MAX_BATCH_BYTES = 120 * 1024;

/**
 * `post(body, path)` sends a JSON body to keyport and resolves with
 * `{status, text}` (rejects when keyport cannot be reached). `ask(request)`
 * resolves with keyport's answer to that verification, or rejects as the
 * verification would have. A keyport without the batch route (404: older
 * than this guard) gets the renewals one by one from then on.
 */
export function createRenewalQueue({ post, waitMs }) {
  let queue = [];
  /** The JSON length of what is queued. */
  let bytes = 0;
  /** The credentials (digests) whose renewals are queued. */
  const queued = new Set();
  let timer;
  let batches = true;

  function verifyOne({ request, resolve, reject }) {
    post(JSON.stringify(request), '/keys/verify')
      .then((res) => {
        if (res.status !== 200) throw new Error(`keyport answered ${res.status} to /keys/verify`);
        resolve(JSON.parse(res.text));
      })
      .catch(reject);
  }

  function send() {
    if (timer !== undefined) (waitMs > 0 ? clearTimeout : clearImmediate)(timer);
    timer = undefined;
    const items = queue;
    queue = [];
    bytes = 0;
    queued.clear();
    if (items.length === 0) return;
    if (!batches || items.length === 1) {
      for (const item of items) verifyOne(item);
      return;
    }
    post(JSON.stringify({ items: items.map((item) => item.request) }), '/keys/verify/batch')
      .then((res) => {
        // 404: no batch route. 400/413: one item (a caller's odd address, a long token) refused them all.
        if (res.status === 404 || res.status === 400 || res.status === 413) {
          if (res.status === 404) batches = false;
          for (const item of items) verifyOne(item);
          return;
        }
        if (res.status !== 200) throw new Error(`keyport answered ${res.status} to /keys/verify/batch`);
        const answers = JSON.parse(res.text).items;
        if (!Array.isArray(answers) || answers.length !== items.length)
          throw new Error('keyport answered a batch with another number of items');
        items.forEach((item, i) => item.resolve(answers[i]));
      })
      .catch((err) => {
        for (const item of items) item.reject(err);
      });
  }

  return {
    /** The answer to one renewal's verification (`POST /keys/verify`'s body) for credential `digest`, sent with the others due. */
    ask(request, digest) {
      return new Promise((resolve, reject) => {
        const size = JSON.stringify(request).length + 1;
        if (queue.length > 0 && bytes + size > MAX_BATCH_BYTES) send();
        queue.push({ request, resolve, reject });
        bytes += size;
        queued.add(digest);
        if (queue.length >= MAX_BATCH) send();
        else if (timer === undefined) timer = waitMs > 0 ? setTimeout(send, waitMs) : setImmediate(send);
      });
    },
    /** Sends what is queued now, if `digest`'s renewal is among it (its key was called again: it is busy). */
    hurry(digest) {
      if (queued.has(digest)) send();
    },
    /** Sends what is queued now (the guard is closing). */
    flush: send,
  };
}
