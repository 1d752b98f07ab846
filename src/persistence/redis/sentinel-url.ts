/**
 * `redis+sentinel://[:password@]host[:port][,host[:port]…]/<master-name>`:
 * the sentinels to ask and the name of the primary they watch. A port left
 * out is Sentinel's own, 26379. The password, if any, is the primary's and
 * the replicas' (`requirepass`), never sent to the sentinels.
 */
export interface SentinelTarget {
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  readonly name: string;
  readonly password?: string;
}

/** The form config.ts accepts (and checks more strictly: its error message names it). */
const SENTINEL_URL = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^@/]+)\/([\w.-]+)$/;

/** The sentinels of a `redis+sentinel://` URL, or undefined for a plain `redis://` or `rediss://` one. */
export function parseSentinelUrl(url: string): SentinelTarget | undefined {
  const match = SENTINEL_URL.exec(url);
  if (!match) return undefined;
  const [, userinfo, hosts, name] = match;
  const sentinels = hosts!.split(',').map((entry) => {
    const [host, port] = entry.split(':');
    return { host: host!, port: port ? Number(port) : 26379 };
  });
  const password = userinfo?.includes(':') ? decodeURIComponent(userinfo.slice(userinfo.indexOf(':') + 1)) : undefined;
  return { sentinels, name: name!, ...(password ? { password } : {}) };
}
