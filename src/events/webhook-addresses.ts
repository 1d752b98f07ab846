import { lookup, type LookupAddress } from 'node:dns';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';
import { InvalidRequest } from '../errors.js';

const lookupAll = promisify(lookup);

/**
 * Server-side request forgery: an endpoint is reached from inside keyport's
 * network, so unless the operator allows it (`webhook_allow_private_addresses`)
 * only public unicast addresses are: no loopback, link-local (169.254.169.254,
 * cloud metadata), private, unique-local, multicast or reserved ranges, and no
 * IPv4 hidden in IPv6 (ipaddr.process unwraps ::ffff:a.b.c.d).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The host of a URL as a resolver takes it (`[::1]` → `::1`). */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Refuses (400 invalid_request, field `url`) an endpoint keyport may not call:
 * not https (http only with private addresses allowed), credentials in the
 * URL, or a host resolving to any non-public address.
 */
export async function checkEndpointUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest('url', 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    throw new InvalidRequest(
      'url',
      'must be an https:// URL (http:// only with the webhook_allow_private_addresses setting)',
    );
  if (url.username || url.password) throw new InvalidRequest('url', 'must not carry credentials');
  if (allowPrivate) return url;
  const host = bareHost(url);
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : (await lookupAll(host, { all: true })).map((a) => a.address);
  } catch {
    throw new InvalidRequest('url', `the host ${host} cannot be resolved`);
  }
  if (!addresses.length || !addresses.every(isPublicAddress))
    throw new InvalidRequest(
      'url',
      'must not point at a loopback, link-local or private address (unless the operator sets webhook_allow_private_addresses)',
    );
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) that refuses non-public addresses at connect
 * time: the address checked is the address connected to, so a name that
 * resolved to a public address at registration and to 10.0.0.1 now (DNS
 * rebinding) is refused at delivery.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = allowPrivate ? addresses : addresses.filter((a) => isPublicAddress(a.address));
      if (!allowed.length) {
        const refused = Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' });
        return callback(refused, []);
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** Whether a delivery may connect to `url` as far as its literal host tells (a name is checked by `guardedLookup`). */
export function literalHostAllowed(url: URL, allowPrivate: boolean): boolean {
  const host = bareHost(url);
  return allowPrivate || !ipaddr.isValid(host) || isPublicAddress(host);
}
