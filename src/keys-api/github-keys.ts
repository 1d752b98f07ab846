import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * GitHub's secret-scanning public keys (secret scanning partner program,
 * "Implement signature verification"): `{"public_keys": [{"key_identifier",
 * "key" (PEM), "is_current"}]}`, served at api.github.com/meta/public_keys/secret_scanning.
 */
export interface GithubKeys {
  /**
   * The ECDSA P-256 key of this identifier. An identifier not in the cache
   * reads the list again (GitHub rotates keys), at most once per
   * `refreshSeconds`, so made-up identifiers cannot make keyport hammer GitHub.
   */
  find(keyId: string): Promise<KeyObject | undefined>;
}

/** The list is small (a few keys); anything much larger is not it. */
const MAX_LIST_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5000;

export function createGithubKeys({
  url,
  file,
  refreshSeconds,
  now = Date.now,
  onError,
}: {
  /** Where the list is fetched (`github_secret_scanning_keys_url`). */
  url: string;
  /** A file holding the list instead (`github_secret_scanning_keys_file`): tests and closed networks; read, never fetched. */
  file?: string;
  refreshSeconds: number;
  now?: () => number;
  onError: (err: Error) => void;
}): GithubKeys {
  let keys = new Map<string, KeyObject>();
  let readAt: number | undefined;
  let reading: Promise<void> | undefined;

  async function listText(): Promise<string> {
    if (file) return readFile(file, 'utf8');
    const res = await fetch(url, {
      headers: { accept: 'application/json', 'user-agent': 'keyport-secret-scanning' },
      redirect: 'error',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_LIST_BYTES) throw new Error(`${url} answered more than ${MAX_LIST_BYTES} bytes`);
    return text;
  }

  async function read(): Promise<void> {
    readAt = now();
    try {
      keys = parseKeyList(await listText());
    } catch (err) {
      // The keys read before stay: a failed refresh never drops a key that verified.
      onError(err as Error);
    }
  }

  return {
    async find(keyId) {
      const known = keys.get(keyId);
      if (known) return known;
      if (readAt === undefined || now() - readAt >= refreshSeconds * 1000) {
        reading ??= read().finally(() => (reading = undefined));
      }
      if (reading) await reading;
      return keys.get(keyId);
    },
  };
}

/** The keys of a list, each checked to be ECDSA on P-256 (prime256v1), as GitHub signs with ECDSA-NIST-P256V1-SHA256. */
export function parseKeyList(text: string): Map<string, KeyObject> {
  const list = JSON.parse(text) as { public_keys?: unknown };
  if (!Array.isArray(list.public_keys)) throw new Error('the key list has no public_keys array');
  const keys = new Map<string, KeyObject>();
  for (const entry of list.public_keys as Array<Record<string, unknown>>) {
    if (typeof entry?.key_identifier !== 'string' || typeof entry.key !== 'string') continue;
    const key = createPublicKey(entry.key);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error(`key ${entry.key_identifier.slice(0, 80)} is not an ECDSA P-256 key`);
    keys.set(entry.key_identifier, key);
  }
  return keys;
}
