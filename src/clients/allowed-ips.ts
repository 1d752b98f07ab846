import ipaddr from 'ipaddr.js';
import { InvalidRequest } from '../errors.js';
import { CLIENT_LIMITS } from './limits.js';

/**
 * A key's address allowlist (issue 28 item 1): IPv4/IPv6 addresses and CIDR
 * ranges it may be used from; empty means anywhere. Parsed with ipaddr.js,
 * stored in canonical form (`2001:db8::/32`, `203.0.113.7`).
 */
export type AllowedIps = readonly string[];

const MAX = CLIENT_LIMITS.allowedIpsCount;

type Range = readonly [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * One entry in canonical form, or undefined when it is none. IPv4 only in its
 * four-part decimal form (`127.1` and `0x7f.0.0.1` are refused: too easy to misread).
 */
function canonical(entry: string): string | undefined {
  const text = entry.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString();
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) {
    const [address, bits] = ipaddr.IPv4.parseCIDR(text);
    return `${ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString()}/${bits}`;
  }
  if (text.includes('%')) return undefined; // a zone names an interface of one host, never a caller
  if (ipaddr.IPv6.isValid(text)) {
    const address = ipaddr.IPv6.parse(text);
    return address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toString();
  }
  if (ipaddr.IPv6.isValidCIDR(text)) {
    const [address, bits] = ipaddr.IPv6.parseCIDR(text);
    return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`).toString()}/${bits}`;
  }
  return undefined;
}

/** `allowed_ips` as a caller sends it: at most 50 addresses or CIDR ranges; a bad one is refused by name. */
export function checkAllowedIps(list: unknown): AllowedIps {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new InvalidRequest('allowed_ips', 'must be an array of addresses or CIDR ranges');
  if (list.length > MAX) throw new InvalidRequest('allowed_ips', `at most ${MAX} addresses or ranges`);
  const out: string[] = [];
  for (const entry of list) {
    const shown = typeof entry === 'string' ? JSON.stringify(entry.slice(0, 60)) : String(entry);
    const parsed = typeof entry === 'string' ? canonical(entry) : undefined;
    if (parsed === undefined)
      throw new InvalidRequest('allowed_ips', `${shown} is not an IPv4 or IPv6 address or CIDR range`);
    if (!out.includes(parsed)) out.push(parsed);
  }
  return out;
}

const ranges = new WeakMap<AllowedIps, readonly Range[]>();

function rangesOf(list: AllowedIps): readonly Range[] {
  let parsed = ranges.get(list);
  if (!parsed) {
    parsed = list.flatMap((entry): Range[] => {
      try {
        if (entry.includes('/')) return [ipaddr.parseCIDR(entry)];
        const address = ipaddr.parse(entry);
        return [[address, address.kind() === 'ipv4' ? 32 : 128]];
      } catch {
        return []; // a row edited by hand into something else allows nothing
      }
    });
    ranges.set(list, parsed);
  }
  return parsed;
}

/**
 * Whether `address` (the caller's, as `trusted_proxies` yields it) may use a
 * key with this allowlist. Empty: anywhere. An IPv4-mapped IPv6 address
 * (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4 callers) is its IPv4 address.
 */
export function allowsAddress(list: AllowedIps, address: string | undefined): boolean {
  if (list.length === 0) return true;
  if (address === undefined || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address.split('%')[0]!);
  return rangesOf(list).some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
}

/** The stored text (a JSON array) back as a list; a row edited by hand into something else allows no address (fails closed). */
export function allowedIpsFromText(text: string | null | undefined): AllowedIps {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map(String) : ['invalid'];
  } catch {
    return ['invalid'];
  }
}

export const allowedIpsToText = (list: AllowedIps): string | null => (list.length ? JSON.stringify(list) : null);

/** The refusal's words, the same on every surface. */
export const addressRefusal = (address: string | undefined): string =>
  `the address ${address ?? '(unknown)'} is not allowed to use this key`;
